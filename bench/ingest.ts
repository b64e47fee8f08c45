/**
 * Bench 1, ingest: `devices` connected devices, each with `window` messages
 * awaiting their ack, for `durationMs` after `warmupMs`. The figure is durable
 * acks per second (for MQTT: PUBACKs per second), counted by the generators
 * between two marks. The server's CPU and RSS come from /proc. Tiers: open
 * (plain JSON), signed (every frame Ed25519-signed, pre-signed by the
 * generators), encrypted (signed register with an X25519 handshake, then
 * sealed binary frames both ways, sealed and opened live by the generators).
 */
import { startAedes, startMosquitto } from './lib/brokers.js';
import { GatewayProcess, LIFTED_CAP_ARGS } from './lib/gateway.js';
import { cpuShare, machineBusySec, mainThreadShare, sample } from './lib/proc.js';
import { freePort, sleep, tempDir } from './lib/util.js';
import { startPool, type Pool } from './sim/pool.js';
import { addCounters, LatencyHistogram, type FleetCounters } from './sim/stats.js';

export type System = 'open' | 'signed' | 'encrypted' | 'aedes' | 'mosquitto';
const GATEWAY_TIERS = ['open', 'signed', 'encrypted'] as const;
type GatewayTier = (typeof GATEWAY_TIERS)[number];
const isGatewayTier = (s: System): s is GatewayTier => (GATEWAY_TIERS as readonly System[]).includes(s);

export interface IngestOptions {
  devices: number;
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Generator processes (0 = in this process). */
  procs: number;
  entry: 'dist' | 'src';
  /** Signed tier: messages pre-signed per device. */
  presign: number;
  /** Run the gateway under --cpu-prof, writing the profile here. */
  profileDir?: string;
}

export interface IngestResult {
  system: System;
  acksPerSec: number;
  acksInWindow: number;
  windowSec: number;
  latencyMs: { p50: number; p99: number; p999: number };
  /** mainThread: the server's main thread, running and waiting for a core (lib/proc.ts), where the kernel tells. */
  server: { cpuCores: number; cpuSecInWindow: number; cpuSecTotal: number; rssBytes: number; peakRssBytes: number; mainThread?: { runCores: number; waitCores: number } };
  /** cryptoSec: CPU seconds of the window the generators spent sealing and opening (encrypted tier). */
  generators: { procs: number; cpuCores: number[]; cpuSecInWindow: number; cryptoSec: number };
  /** CPU used on this machine by anything but the server, the generators and this process (noise). */
  otherCores: number;
  connectMs: number;
  prepareMs: number;
  /** Counted after the drain that follows the window. */
  counters: FleetCounters;
  /** Messages still unacked 5 s after the devices stopped sending. */
  unackedAfterDrain: number;
}

/** The gateway with the limits out of the way: per-connection rate limits are not what is measured. */
export const INGEST_GATEWAY_ARGS = ['--rate', '1000000', '--burst', '1000000', '--heartbeat', '0', '--max-connections', '20000', ...LIFTED_CAP_ARGS];

type Target = { pid: number; url: string; stop(): Promise<unknown>; tail: { text(): string }; gatewayKey?: string };

async function startTarget(system: System, o: IngestOptions, dir: string): Promise<Target> {
  const port = await freePort();
  if (system === 'aedes') return startAedes(port);
  if (system === 'mosquitto') return startMosquitto(port, dir);
  const nodeArgs = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const gw = await GatewayProcess.start({ port, dataDir: dir, entry: o.entry, args: INGEST_GATEWAY_ARGS, nodeArgs });
  const gatewayKey = (await gw.health()).server_pub_key;
  return { pid: gw.pid, url: gw.wsUrl, stop: () => gw.stop(), tail: gw.tail, gatewayKey } satisfies Target;
}

export async function runIngest(system: System, o: IngestOptions): Promise<IngestResult> {
  const dir = tempDir(`ingest-${system}`);
  const target = await startTarget(system, o, dir.path);
  let pool: Pool | undefined;
  try {
    const kind = isGatewayTier(system) ? 'ws' : 'mqtt';
    const tier = isGatewayTier(system) ? system : 'open';
    const presign = system === 'signed' ? o.presign : 0;
    const namePrefix = `ingest-${system}-${process.pid}`;
    const gatewayKey = target.gatewayKey;
    pool = await startPool({ kind, url: target.url, devices: o.devices, window: o.window, tier, reconnect: false, presign, concurrency: 50, namePrefix, gatewayKey }, o.procs);
    const prepareMs = Math.max(...(await pool.call('prepare')).map((p) => p.ms));
    const conn = await pool.call('connect');
    const registered = conn.reduce((n, c) => n + c.registered, 0);
    if (registered !== o.devices) throw new Error(`${system}: only ${registered}/${o.devices} devices connected (${conn.find((c) => c.firstError)?.firstError ?? ''})`);
    await pool.call('go');
    await sleep(o.warmupMs);
    const s0 = sample(target.pid);
    const [busy0, self0] = [machineBusySec(), process.cpuUsage()];
    const m0 = await pool.call('mark');
    await sleep(o.durationMs);
    const m1 = await pool.call('mark');
    const s1 = sample(target.pid);
    const [busy1, self1] = [machineBusySec(), process.cpuUsage(self0)];
    const drained = await pool.call('drain', 5000);
    const end = await pool.call('mark');

    let acksPerSec = 0;
    let acksInWindow = 0;
    m0.forEach((a, i) => {
      const b = m1[i]!;
      acksInWindow += b.counters.acks - a.counters.acks;
      acksPerSec += (b.counters.acks - a.counters.acks) / ((b.at - a.at) / 1000);
    });
    const h = LatencyHistogram.merge(m1.map((m) => m.latency));
    const windowSec = (s1.at - s0.at) / 1000;
    const genCpuSec = m0.reduce((n, a, i) => n + m1[i]!.cpuSec - a.cpuSec, 0);
    const selfSec = o.procs === 0 ? 0 : (self1.user + self1.system) / 1e6; // in-process generators are counted already
    return {
      system,
      acksPerSec,
      acksInWindow,
      windowSec,
      latencyMs: { p50: h.percentile(50), p99: h.percentile(99), p999: h.percentile(99.9) },
      server: {
        cpuCores: cpuShare(s0, s1), cpuSecInWindow: s1.cpuSec - s0.cpuSec, cpuSecTotal: s1.cpuSec, rssBytes: s1.rssBytes, peakRssBytes: s1.hwmBytes,
        mainThread: mainThreadShare(s0, s1),
      },
      generators: {
        procs: m0.length,
        cpuCores: m0.map((a, i) => (m1[i]!.cpuSec - a.cpuSec) / ((m1[i]!.at - a.at) / 1000)),
        cpuSecInWindow: genCpuSec,
        cryptoSec: m0.reduce((n, a, i) => n + m1[i]!.counters.cryptoSec - a.counters.cryptoSec, 0),
      },
      otherCores: Math.max(0, (busy1 - busy0 - (s1.cpuSec - s0.cpuSec) - genCpuSec - selfSec) / windowSec),
      connectMs: Math.max(...conn.map((c) => c.ms)),
      prepareMs,
      counters: addCounters(end.map((m) => m.counters)),
      unackedAfterDrain: drained.reduce((n, d) => n + d.inflight, 0),
    };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- ${system} output ---\n${target.tail.text()}`);
  } finally {
    await pool?.close();
    await target.stop();
    dir.remove();
  }
}
