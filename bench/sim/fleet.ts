/**
 * A fleet: the simulated devices of one generator process, driven through a
 * small API that the pool calls (over IPC for child processes, directly when
 * in-process). Every figure it reports is cumulative except the latency
 * histogram, which restarts at each mark().
 */
import { publicKeyObject } from '../../gateway/crypto/ed25519.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { newIdentity, type Tier } from './frames.js';
import { MqttDevice } from './mqtt-device.js';
import { LatencyHistogram, newCounters, type FleetCounters } from './stats.js';
import { WsDevice, type DeviceEnv } from './ws-device.js';

export interface FleetConfig {
  kind: 'ws' | 'mqtt';
  /** ws://127.0.0.1:PORT/ws or mqtt://127.0.0.1:PORT */
  url: string;
  devices: number;
  window: number;
  tier: Tier;
  /** Reconnect with spec §19 backoff after a lost connection (ws only). */
  reconnect: boolean;
  /** Messages to pre-sign per device (signed tier). */
  presign: number;
  /** The gateway key (ed25519:..., from /healthz) the encrypted tier pins. */
  gatewayKey?: string;
  /** Handshakes in flight at once while connecting. */
  concurrency: number;
  /** Messages per second per device (ws only); 0 or absent = as fast as acks allow. */
  ratePerSec?: number;
  /** Device names are `${namePrefix}-${i}` (also the MQTT client id). */
  namePrefix: string;
}

export interface Mark {
  /** Wall clock of this process, ms. */
  at: number;
  counters: FleetCounters;
  /** Latency bins since the previous mark. */
  latency: Array<[number, number]>;
  /** CPU seconds this process has used. */
  cpuSec: number;
  rssBytes: number;
}

export interface FleetState {
  devices: number;
  registered: number;
  /** Devices that registered again after a lost connection. */
  reRegistered: number;
  /** Date.now() of the latest registration of each device that registered again. */
  reRegisteredAt: number[];
  inflight: number;
}

export interface LedgerEntry {
  appId: string;
  /** Seqs acked, in arrival order. */
  acked: number[];
  /** acked.slice(0, ackedAtKill) arrived before the gateway was killed. */
  ackedAtKill: number;
  /** Highest seq sent. */
  sent: number;
}

type Device = WsDevice | MqttDevice;

export class Fleet {
  private devices: Device[] = [];
  private readonly counters = newCounters();
  private readonly latency = new LatencyHistogram();
  private ticker: NodeJS.Timeout | undefined;

  constructor(readonly cfg: FleetConfig) {}

  /** Keys, identities and (signed tier) pre-signed frames, before anything is timed. */
  prepare(): { ms: number } {
    const t0 = performance.now();
    const env: DeviceEnv = { url: this.cfg.url, window: this.cfg.window, ratePerSec: this.cfg.ratePerSec ?? 0, reconnect: this.cfg.reconnect, counters: this.counters, latency: this.latency };
    const raw = decodePublicKey(this.cfg.gatewayKey);
    if (raw) env.gateway = { text: this.cfg.gatewayKey!, raw, key: publicKeyObject(raw) };
    for (let i = 0; i < this.cfg.devices; i++) {
      const id = newIdentity(this.cfg.kind === 'ws' ? this.cfg.tier : 'open');
      const name = `${this.cfg.namePrefix}-${i}`;
      const d = this.cfg.kind === 'ws' ? new WsDevice(id, name, env) : new MqttDevice(id, name, env);
      if (d instanceof WsDevice && this.cfg.tier === 'signed' && this.cfg.presign > 0) d.presign(this.cfg.presign);
      this.devices.push(d);
    }
    return { ms: performance.now() - t0 };
  }

  /** Connects and registers every device, `concurrency` handshakes at a time. */
  async connect(): Promise<{ registered: number; failed: number; ms: number; firstError?: string }> {
    const t0 = performance.now();
    let next = 0;
    let failed = 0;
    let firstError: string | undefined;
    const lane = async (): Promise<void> => {
      while (next < this.devices.length) {
        const d = this.devices[next++]!;
        await d.connect().catch((e: Error) => {
          failed++;
          firstError ??= e.message;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, this.devices.length) }, lane));
    const registered = this.devices.filter((d) => d.registered).length;
    return { registered, failed, ms: performance.now() - t0, ...(firstError ? { firstError } : {}) };
  }

  go(): void {
    for (const d of this.devices) d.start();
    if (this.cfg.ratePerSec) {
      let last = performance.now();
      this.ticker = setInterval(() => {
        const now = performance.now();
        for (const d of this.devices) if (d instanceof WsDevice) d.tick(now - last);
        last = now;
      }, 20);
    }
  }

  mark(): Mark {
    const latency = this.latency.toPairs();
    this.latency.bins.fill(0);
    this.latency.count = 0;
    const cpu = process.cpuUsage();
    return {
      at: performance.timeOrigin + performance.now(),
      counters: structuredClone(this.counters),
      latency,
      cpuSec: (cpu.user + cpu.system) / 1e6,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  state(): FleetState {
    let registered = 0;
    let reRegistered = 0;
    let inflight = 0;
    const reRegisteredAt: number[] = [];
    for (const d of this.devices) {
      if (d.registered) registered++;
      inflight += d.inflightCount;
      if (d instanceof WsDevice) {
        if (d.registrations > 1) reRegistered++, reRegisteredAt.push(d.lastRegisteredAt);
      }
    }
    return { devices: this.devices.length, registered, reRegistered, reRegisteredAt, inflight };
  }

  /** Freezes each device's count of acks received before the gateway died. */
  markKill(): void {
    for (const d of this.devices) if (d instanceof WsDevice) d.ackedAtKill = d.acked.length;
  }

  /** Stops new sends and waits until every message in flight is acked. */
  async drain(timeoutMs: number): Promise<{ inflight: number; ms: number }> {
    const t0 = performance.now();
    clearInterval(this.ticker);
    for (const d of this.devices) d.stopSending();
    const end = Date.now() + timeoutMs;
    while (this.state().inflight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return { inflight: this.state().inflight, ms: performance.now() - t0 };
  }

  ledger(): LedgerEntry[] {
    return this.devices.flatMap((d) =>
      d instanceof WsDevice ? [{ appId: d.id.appId, acked: d.acked, ackedAtKill: d.ackedAtKill, sent: d.nextSeq - 1 }] : [],
    );
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    for (const d of this.devices) d.close();
    this.devices = [];
    await new Promise((r) => setTimeout(r, 50));
  }
}
