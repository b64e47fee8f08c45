/**
 * One simulated device on a raw `ws` socket: registers, keeps up to `window`
 * messages in flight, counts acks. With `reconnect` it behaves as spec §19
 * asks of a device after a lost connection: back off
 * min(100 ms × 2^attempt, 30 s) + random(0, delay × 0.5), send re_register,
 * then re-send every unacked message with its original seq (same text).
 * Encrypted tier: the register carries a fresh ephemeral key, and after
 * `registered` every frame either way is sealed (sealed-session.ts); a
 * re-sent message is the same plaintext sealed under the new session.
 */
import WebSocket from 'ws';
import { messageText, registerText, reRegisterText, type DeviceIdentity } from './frames.js';
import { SealedSession, type GatewayPin } from './sealed-session.js';
import type { FleetCounters, LatencyHistogram } from './stats.js';

export interface DeviceEnv {
  url: string;
  window: number;
  /** Messages per second per device; 0 = as fast as acks allow. */
  ratePerSec: number;
  reconnect: boolean;
  counters: FleetCounters;
  latency: LatencyHistogram;
  /** The pinned gateway key (encrypted tier). */
  gateway?: GatewayPin;
}

interface ServerFrame {
  type: string;
  seq?: number;
  duplicate?: boolean;
  code?: string;
}

export function backoffMs(attempt: number, random = Math.random): number {
  const delay = Math.min(100 * 2 ** attempt, 30_000);
  return delay + random() * delay * 0.5;
}

export class WsDevice {
  registered = false;
  registrations = 0;
  /** Wall-clock ms (Date.now) of the last `registered`. */
  lastRegisteredAt = 0;
  /** Seqs in the order their acks arrived (the client-side ledger). */
  readonly acked: number[] = [];
  /** How many of `acked` had arrived when the gateway was killed. */
  ackedAtKill = -1;
  nextSeq = 1;
  private ws: WebSocket | undefined;
  private sending = false;
  private closing = false;
  private attempt = 0;
  private lastTs = 0;
  private highestAcked = 0;
  private readonly inflight = new Map<number, { text: string; at: number }>();
  private stock: string[] = [];
  /** Messages this device may still send now (paced devices only). */
  private credits = 0;
  private waiter: { resolve(): void; reject(e: Error): void } | undefined;
  private readonly sealed: SealedSession | undefined;

  constructor(readonly id: DeviceIdentity, readonly name: string, private readonly env: DeviceEnv) {
    if (id.tier === 'encrypted') {
      if (!env.gateway || !id.seed) throw new Error('an encrypted device needs its seed and the gateway key');
      this.sealed = new SealedSession(id.appId, id.seed, env.gateway, env.counters);
    }
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Signs `count` messages now (seq 1..count) so signing costs nothing during the run. */
  presign(count: number): void {
    this.stock = [];
    for (let seq = 1; seq <= count; seq++) this.stock.push(messageText(this.id, seq));
  }

  /** Opens the socket and registers; resolves on the first `registered`. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.open();
    });
  }

  start(): void {
    this.sending = true;
    this.pump();
  }

  stopSending(): void {
    this.sending = false;
  }

  /** Pacing: `dt` ms passed; earns ratePerSec × dt of sends (never more than a window's worth). */
  tick(dt: number): void {
    this.credits = Math.min(this.env.window, this.credits + (this.env.ratePerSec * dt) / 1000);
    this.pump();
  }

  close(): void {
    this.closing = true;
    this.sending = false;
    this.ws?.terminate();
  }

  private open(): void {
    const ws = new WebSocket(this.env.url, { perMessageDeflate: false });
    this.ws = ws;
    ws.on('open', () => {
      const ts = (this.lastTs = Math.max(Date.now(), this.lastTs + 1));
      const eph = this.sealed?.begin();
      ws.send(this.registrations === 0 ? registerText(this.id, this.name, ts, eph) : reRegisterText(this.id, this.highestAcked, ts, eph));
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.onFrame(JSON.parse(String(data)) as ServerFrame);
      const opened = this.sealed?.open(data as Buffer) ?? { ok: false, reason: 'no_session' };
      if (opened.ok) this.onFrame(JSON.parse(opened.text) as ServerFrame);
      else this.countError(`sealed_${opened.reason}`);
    });
    ws.on('error', (e: NodeJS.ErrnoException) => {
      // 'close' follows; the reason is kept so a slow storm can be explained.
      this.countFailure(e.code ?? e.message.slice(0, 40));
    });
    ws.on('close', (code) => {
      if (!this.registered && !this.closing && code !== 1006) this.countFailure(`closed_${code}`);
      this.onClose(ws);
    });
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.registered = false;
    this.sealed?.reset();
    if (this.closing || !this.env.reconnect) {
      this.waiter?.reject(new Error(`${this.name}: connection closed before registration`));
      this.waiter = undefined;
      return;
    }
    setTimeout(() => this.closing || this.open(), backoffMs(this.attempt++));
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'ack') return this.onAck(f.seq!, f.duplicate === true);
    if (f.type === 'registered') return this.onRegistered(f);
    if (f.type === 'error') this.countError(f.code ?? 'unknown');
  }

  private countFailure(why: string): void {
    const f = this.env.counters.connectFailures;
    f[why] = (f[why] ?? 0) + 1;
  }

  private countError(code: string): void {
    const errors = this.env.counters.errors;
    errors[code] = (errors[code] ?? 0) + 1;
  }

  /** The next frame on the socket: sealed once the encrypted tier's session exists. */
  private transmit(ws: WebSocket, text: string): void {
    ws.send(this.sealed?.established ? this.sealed.seal(text) : text);
  }

  private onRegistered(f: ServerFrame): void {
    if (this.sealed) {
      try {
        this.sealed.complete(f as unknown as Record<string, unknown>);
      } catch (e) {
        this.countError('handshake');
        this.waiter?.reject(new Error(`${this.name}: ${(e as Error).message}`));
        this.waiter = undefined;
        return void this.ws?.terminate();
      }
    }
    this.registered = true;
    this.registrations++;
    this.lastRegisteredAt = Date.now();
    this.attempt = 0;
    this.env.counters.registrations++;
    if (this.registrations > 1) {
      // Every unacked message again, oldest first, exactly as first sent.
      const now = performance.now();
      for (const seq of [...this.inflight.keys()].sort((a, b) => a - b)) {
        const m = this.inflight.get(seq)!;
        m.at = now;
        this.transmit(this.ws!, m.text);
        this.env.counters.resent++;
      }
    }
    this.waiter?.resolve();
    this.waiter = undefined;
    this.pump();
  }

  private onAck(seq: number, duplicate: boolean): void {
    const m = this.inflight.get(seq);
    const c = this.env.counters;
    if (!m) {
      c.strayAcks++;
      return;
    }
    this.inflight.delete(seq);
    c.acks++;
    if (duplicate) c.duplicateAcks++;
    this.env.latency.add(performance.now() - m.at);
    this.acked.push(seq);
    if (seq > this.highestAcked) this.highestAcked = seq;
    this.pump();
  }

  private pump(): void {
    const ws = this.ws;
    if (!this.sending || !this.registered || !ws) return;
    const paced = this.env.ratePerSec > 0;
    while (this.inflight.size < this.env.window && (!paced || this.credits >= 1)) {
      if (paced) this.credits--;
      const seq = this.nextSeq++;
      let text = this.stock[seq - 1];
      if (text === undefined) {
        if (this.id.tier === 'signed') this.env.counters.liveSigned++;
        text = messageText(this.id, seq);
      }
      this.inflight.set(seq, { text, at: performance.now() });
      this.transmit(ws, text);
      this.env.counters.sent++;
    }
  }
}
