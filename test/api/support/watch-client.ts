/**
 * A watch client for tests: opens /api/v1/watch with signed headers and
 * collects every watch message, unpacking batches ({type:'events'}) so tests
 * see one event at a time; or reports the HTTP refusal of the upgrade.
 */
import WebSocket from 'ws';
import type { RunningGateway } from '../../../gateway/app.js';
import { signRequest } from '../../../gateway/auth/request-signing.js';
import type { Signer } from './api-harness.js';

export type WatchMessage = Record<string, any>;

export class WatchClient {
  readonly messages: WatchMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as WatchMessage;
      if (m.type === 'events') for (const event of m.events as unknown[]) this.messages.push({ type: 'event', event });
      else this.messages.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => (resolve({ code, reason: String(reason) }), this.waiters.splice(0).forEach((w) => w()))));
  }

  /** Resolves with the first message matching `pred` (seen already or still to come). */
  async next(pred: (m: WatchMessage) => boolean, ms = 5000): Promise<WatchMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such watch message; got ${JSON.stringify(this.messages.map((m) => m.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  events(): WatchMessage[] {
    return this.messages.filter((m) => m.type === 'event').map((m) => m.event);
  }

  close(): void {
    this.ws.terminate();
  }
}

export type WatchOpen = { ok: true; client: WatchClient } | { ok: false; status: number; body: any };

export function watchPath(query: string): string {
  return `/api/v1/watch${query ? `?${query}` : ''}`;
}

export function openWatch(gw: RunningGateway, signer: Signer | null, query = '', headers: Record<string, string> = {}): Promise<WatchOpen> {
  const path = watchPath(query);
  const signed = signer ? signRequest({ method: 'GET', path, key: signer.key, appId: signer.appId ?? null }) : {};
  const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}${path}`, { headers: { ...signed, ...headers }, perMessageDeflate: false });
  const client = new WatchClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ok: true, client }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    ws.once('error', (err) => reject(err));
  });
}
