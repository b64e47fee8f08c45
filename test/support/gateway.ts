/** A real gateway in this process, on a free loopback port and a temp data dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig, type GatewayConfig } from '../../gateway/config.js';

export async function withGateway(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway & { dataDir: string; cleanup(): Promise<void> }> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'trails-gw-'));
  const gw = await startGateway({ ...defaultConfig(), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', registration: 'open', ...overrides });
  return Object.assign(gw, {
    dataDir,
    async cleanup() {
      await gw.stop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** A raw device socket that collects the gateway's frames. */
export class RawDevice {
  readonly frames: Array<Record<string, unknown>> = [];
  closed?: { code: number; reason: string };
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {});
  }

  static open(url: string, opts: WebSocket.ClientOptions = {}): Promise<RawDevice> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      const dev = new RawDevice(ws);
      ws.once('open', () => resolve(dev));
      ws.once('error', reject);
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits until `pred` holds for the frames (or the close), at most `ms`. */
  async until(pred: (d: RawDevice) => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames).slice(0, 400)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
