/**
 * The in-memory twin of the transport, for unit tests and benchmarks. Each
 * open() makes a MemorySocket that the test drives from the "server" side:
 * accept or refuse it, read what the client sent, push frames, close it.
 * Delivery is asynchronous (microtasks), as it is on a real socket, so tests
 * see the same interleavings the client meets in production.
 */
import type { Transport, TransportHandlers, TransportSocket } from './transport.js';

export interface MemoryTransportOptions {
  /** Called for every new socket; accept() or refuse() it there. Default: accept at once. */
  onConnect?: (socket: MemorySocket) => void;
}

export class MemorySocket implements TransportSocket {
  /** Every text frame the client sent, in order. */
  readonly sent: string[] = [];
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  closeCode: number | null = null;
  /** Called with each frame the client sends (after it is recorded in `sent`). */
  onClientFrame?: (frame: Record<string, unknown>, text: string) => void;

  constructor(readonly url: string, private readonly h: TransportHandlers) {}

  /** Parsed frames the client sent. */
  get frames(): Array<Record<string, unknown>> {
    return this.sent.map((t) => JSON.parse(t) as Record<string, unknown>);
  }

  accept(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    queueMicrotask(() => this.h.onOpen());
  }

  /** The connection attempt fails (nothing listening). */
  refuse(): void {
    if (this.state !== 'connecting') return;
    this.finish(1006, 'connection refused');
  }

  /** Server → client frame. */
  push(frame: object | string): void {
    if (this.state !== 'open') return;
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    queueMicrotask(() => {
      if (this.state === 'open') this.h.onMessage(text);
    });
  }

  /** The server closes the socket. */
  serverClose(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    this.finish(code, reason);
  }

  // ── the client's side ──

  send(text: string): void {
    if (this.state !== 'open') return;
    this.sent.push(text);
    this.onClientFrame?.(JSON.parse(text) as Record<string, unknown>, text);
  }

  close(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    this.state = 'closed';
    this.closeCode = code;
    queueMicrotask(() => this.h.onClose(code, reason));
  }
}

export class MemoryTransport implements Transport {
  readonly sockets: MemorySocket[] = [];

  constructor(private readonly opts: MemoryTransportOptions = {}) {}

  open(url: string, handlers: TransportHandlers): MemorySocket {
    const s = new MemorySocket(url, handlers);
    this.sockets.push(s);
    if (this.opts.onConnect) this.opts.onConnect(s);
    else s.accept();
    return s;
  }

  /** The most recent socket. */
  get last(): MemorySocket | undefined {
    return this.sockets[this.sockets.length - 1];
  }
}
