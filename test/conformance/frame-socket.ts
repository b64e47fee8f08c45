/**
 * A client WebSocket that queues every JSON frame it receives, so a step can
 * ask for "the next frame" whenever it runs, even if the frame arrived earlier.
 */
import WebSocket from 'ws';

type Frame = Record<string, unknown>;

export class FrameSocket {
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  private closeCode: number | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? { binary: true } : parse(data.toString()));
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {
      /* 'close' follows */
    });
  }

  static open(url: string, timeoutMs = 5000): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
      const socket = new FrameSocket(ws);
      ws.once('open', () => resolve(socket));
      ws.once('error', (e) => reject(new Error(`cannot connect to ${url}: ${e.message}`)));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    if (!this.isOpen) throw new Error(`socket is not open (closed with ${this.closeCode ?? 'no code'})`);
    this.ws.send(JSON.stringify(frame));
  }

  /** The next received frame, waiting up to timeoutMs. */
  async next(timeoutMs: number): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`socket closed (code ${this.closeCode}) before a frame arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from the gateway within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.frames.shift()!;
  }

  /** Drops the TCP connection without a close frame (a crash, as the gateway sees it). */
  terminate(): void {
    this.ws.terminate();
  }

  /** A clean close, waiting (briefly) for the gateway's answer. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close(1000);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

function parse(text: string): Frame {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Frame) : { not_an_object: v };
  } catch {
    return { invalid_json: text };
  }
}
