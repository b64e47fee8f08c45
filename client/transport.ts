/**
 * The socket port. The client only needs "open a text channel to a URL";
 * keeping that behind this interface lets unit tests run the whole protocol
 * over an in-memory twin (memory-transport.ts) and leaves room for other
 * transports that serverEp schemes may name later (spec §2).
 */
import WebSocket from 'ws';

/** Implementations must call these asynchronously (never from inside open()), as a real socket does. */
export interface TransportHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** A binary frame (the encrypted tier's sealed frames). */
  onBinary?(data: Uint8Array): void;
  /** Called exactly once per socket, also when the connection never opened (code 1006 then). */
  onClose(code: number, reason: string): void;
}

export interface TransportSocket {
  send(text: string): void;
  sendBinary?(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface Transport {
  open(url: string, handlers: TransportHandlers): TransportSocket;
}

export interface WsTransportOptions {
  /** Give up on an opening handshake after this long. */
  handshakeTimeoutMs?: number;
  /** Extra options for the ws constructor (TLS CA, headers, agent, ...). */
  wsOptions?: WebSocket.ClientOptions;
}

/** The real transport, on the `ws` package. Compression is off: frames are small and a zlib context costs memory. */
export function wsTransport(opts: WsTransportOptions = {}): Transport {
  return {
    open(url, h) {
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000, ...opts.wsOptions });
      let closed = false;
      const closeOnce = (code: number, reason: string): void => {
        if (closed) return;
        closed = true;
        h.onClose(code, reason);
      };
      ws.on('open', () => h.onOpen());
      ws.on('message', (data, isBinary) => {
        if (!isBinary) h.onMessage(data.toString());
        else h.onBinary?.(data as Buffer);
      });
      // ws follows 'error' with 'close'; the error's text ("connect ECONNREFUSED …") becomes
      // the close reason when the socket gives none, so a failed attempt can say why.
      let failure = '';
      ws.on('error', (err) => void (failure ||= err.message));
      ws.on('close', (code, reason) => closeOnce(code, reason.toString() || failure));
      return {
        send: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        sendBinary: (data) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(data);
        },
        close: (code = 1000, reason = '') => {
          if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
          else if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
        },
      };
    },
  };
}
