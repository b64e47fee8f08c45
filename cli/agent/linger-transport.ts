/**
 * A transport that makes `disconnect` confirmable. The gateway answers a
 * disconnect with no frame: it commits the app's new status, then closes the
 * socket ("disconnected"). The client closes its side as soon as it has sent
 * the frame, so this wrapper holds that close back until the gateway's own
 * close arrives (or `lingerMs` pass): a close from the gateway after our
 * disconnect is the durable acknowledgement `trails shutdown` waits for.
 */
import type { Transport, TransportHandlers, TransportSocket } from '../../client/transport.js';

export class LingerTransport implements Transport {
  /** Settles once per disconnect sent: true when the gateway closed the socket normally afterwards. */
  disconnectConfirmed: Promise<boolean> | null = null;

  constructor(
    private readonly inner: Transport,
    private readonly lingerMs: number,
  ) {}

  open(url: string, h: TransportHandlers): TransportSocket {
    let sentDisconnect = false;
    let closed = false;
    let settle: ((ok: boolean) => void) | null = null;
    let lingerTimer: NodeJS.Timeout | null = null;
    const sock = this.inner.open(url, {
      onOpen: () => h.onOpen(),
      onMessage: (text) => h.onMessage(text),
      onClose: (code, reason) => {
        closed = true;
        if (lingerTimer) clearTimeout(lingerTimer);
        settle?.(code === 1000);
        settle = null;
        h.onClose(code, reason);
      },
    });
    return {
      send: (text) => {
        if (!sentDisconnect && isDisconnect(text)) {
          sentDisconnect = true;
          this.disconnectConfirmed = new Promise<boolean>((resolve) => (settle = resolve));
        }
        sock.send(text);
      },
      close: (code, reason) => {
        if (!sentDisconnect || closed || lingerTimer) return sock.close(code, reason);
        lingerTimer = setTimeout(() => {
          settle?.(false);
          settle = null;
          sock.close(code, reason);
        }, this.lingerMs);
      },
    };
  }
}

function isDisconnect(text: string): boolean {
  if (!text.includes('"disconnect"')) return false;
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'disconnect';
  } catch {
    return false;
  }
}
