/**
 * API benchmarks (issue 3, "Speed"): run with `node --import tsx bench/api/run.ts`.
 *
 * 1. Cascade cancel of a 1,000-node, 4-level tree (1 + 10 + 100 + 889) whose
 *    simulated devices, multiplexed on a few sockets, answer at once: time
 *    from the REST call to the last node's `cancelled` (goal < 2 s).
 * 2. Watch fan-out: 1,000 devices report as fast as their acks allow, with no
 *    watcher and with 100 watchers of their subtree, alternating; ingest with
 *    watchers as a ratio of ingest without (goal > 0.9).
 *
 * The gateway runs in this process; devices and watchers each in a child
 * process, so their CPU is not the gateway's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig } from '../../gateway/config.js';
import { LIFTED_CAPS } from '../lib/gateway.js';
import { signRequest } from '../../gateway/auth/request-signing.js';

interface AppSpec {
  appId: string;
  parentId: string | null;
  name: string;
  depth: number;
}

const here = new URL('.', import.meta.url).pathname;

/** CPU seconds (user + system) a child has used, from /proc (the gateway runs on Linux). */
function cpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function child(file: string): { proc: ChildProcess; ask: (msg: object) => Promise<Record<string, unknown>> } {
  const proc = fork(join(here, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (msg: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const on = (m: Record<string, unknown>) => {
        if (m.error && !m.cmd) return; // device-side protocol errors are reported below
        proc.off('message', on);
        return m.error ? reject(new Error(String(m.error))) : resolve(m);
      };
      proc.on('message', on);
      proc.send(msg);
    });
  proc.on('message', (m: Record<string, unknown>) => m.error && !m.cmd && console.error('device error', JSON.stringify(m.error)));
  return { proc, ask };
}

async function gateway(): Promise<RunningGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trails-bench-api-'));
  // Per-connection limits are for misbehaving devices; here a few sockets carry 1,000 apps.
  return startGateway({ ...defaultConfig(), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', heartbeatMs: 0, registration: 'open', rate: 1_000_000, burst: 1_000_000, ...LIFTED_CAPS });
}

function tree(shape: number[]): AppSpec[] {
  const apps: AppSpec[] = [{ appId: crypto.randomUUID(), parentId: null, name: 'root', depth: 0 }];
  let level = [apps[0]!];
  shape.forEach((count, i) => {
    const next: AppSpec[] = [];
    for (let k = 0; k < count; k++) next.push({ appId: crypto.randomUUID(), parentId: level[k % level.length]!.appId, name: `n${i + 1}-${k}`, depth: i + 1 });
    apps.push(...next);
    level = next;
  });
  return apps;
}

async function signedFetch(gw: RunningGateway, method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, { method, headers: signRequest({ method, path, key: gw.admin.pair }) });
  return { status: res.status, body: await res.json() };
}

async function cascadeBench(): Promise<void> {
  const gw = await gateway();
  const devices = child('device-proc.ts');
  const apps = tree([10, 100, 889]);
  const t = performance.now();
  await devices.ask({ cmd: 'setup', wsUrl: gw.wsUrl, links: 4, apps });
  const registerMs = performance.now() - t;
  let lastCancelled = 0;
  let cancelled = 0;
  gw.events.subscribe((e) => {
    if (e.type === 'app_status' && e.status === 'cancelled') {
      cancelled++;
      lastCancelled = performance.now();
    }
  });
  const t0 = performance.now();
  const res = await signedFetch(gw, 'POST', `/api/v1/apps/${apps[0]!.appId}/cancel?cascade=true&grace=30`);
  const t1 = performance.now();
  const counts = res.body.counts as Record<string, number>;
  console.log('cascade cancel, 1,000 nodes in 4 levels (1 + 10 + 100 + 889), 4 device sockets, prompt answers');
  console.log(`  registration of 1,000 apps           ${registerMs.toFixed(0)} ms`);
  console.log(`  REST call → last node cancelled      ${(lastCancelled - t0).toFixed(0)} ms  (goal < 2000 ms)`);
  console.log(`  REST call → response (with report)   ${(t1 - t0).toFixed(0)} ms, HTTP ${res.status}`);
  console.log(`  outcomes                             ${JSON.stringify(counts)}; cancelled events ${cancelled}`);
  console.log(`  store: cancelled apps                ${gw.store.listApps({ status: 'cancelled' }).length}`);
  await devices.ask({ cmd: 'close' });
  await gw.stop();
  rmSync(gw.config.dataDir, { recursive: true, force: true });
}

async function fanOutBench(): Promise<void> {
  const gw = await gateway();
  const devices = child('device-proc.ts');
  const watchers = child('watch-proc.ts');
  const apps = tree([1000]);
  await devices.ask({ cmd: 'setup', wsUrl: gw.wsUrl, links: 10, apps });
  const phaseMs = Number(process.env.PHASE_MS ?? 4000);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const rates = { none: [] as number[], watched: [] as number[] };
  const cpu = { none: [] as number[], watched: [] as number[] };
  const others = { none: [] as string[], watched: [] as string[] };
  const watchShare: number[] = [];
  let sentBytes = 0;
  let delivered = { frames: 0, bytes: 0, events: 0 };
  // Warm-up past the snapshot retention (100 per app): from then on every
  // phase pays the same pruning, so neither is favoured by a young database.
  let warm = 0;
  while (warm < apps.length * 130) warm += (await devices.ask({ cmd: 'blast', ms: 3000, window: 2 })).acks as number;
  const phases = [...Array.from({ length: rounds }, () => ['none', 'watched'] as const).flat(), 'none' as const];
  for (const phase of phases) {
    {
      if (phase === 'watched') await watchers.ask({ cmd: 'open', baseUrl: gw.url, dataDir: gw.config.dataDir, parentId: apps[0]!.appId, count: 100 });
      const w0 = { ...gw.watch.stats };
      const c0 = process.cpuUsage();
      const k0 = [cpuSec(devices.proc.pid!), cpuSec(watchers.proc.pid!)];
      const out = await devices.ask({ cmd: 'blast', ms: phaseMs, window: 2 });
      const c1 = process.cpuUsage(c0);
      const k1 = [cpuSec(devices.proc.pid!), cpuSec(watchers.proc.pid!)];
      others[phase].push(`${(((k1[0]! - k0[0]!) * 1000) / (out.ms as number) * 100).toFixed(0)}/${(((k1[1]! - k0[1]!) * 1000) / (out.ms as number) * 100).toFixed(0)}`);
      rates[phase].push((out.acks as number) / ((out.ms as number) / 1000));
      if (phase === 'watched') {
        watchShare.push((gw.watch.stats.busyMs - w0.busyMs) / (out.ms as number));
        sentBytes += gw.watch.stats.bytes - w0.bytes;
      }
      cpu[phase].push((c1.user + c1.system) / 1000 / (out.ms as number));
      if (phase === 'watched') {
        const s = (await watchers.ask({ cmd: 'stats' })) as unknown as typeof delivered;
        delivered = { frames: delivered.frames + s.frames, bytes: delivered.bytes + s.bytes, events: delivered.events + s.events };
        await watchers.ask({ cmd: 'close' });
        await new Promise((res) => setTimeout(res, 300));
      }
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const mean = (xs: number[]) => sum(xs) / xs.length;
  const ratio = mean(rates.watched) / mean(rates.none);
  // Each watched phase against the mean of the unwatched phases either side: drift in the
  // disk's fsync latency then cancels out instead of favouring one kind of phase.
  const paired = rates.watched.map((w, i) => w / ((rates.none[i]! + (rates.none[i + 1] ?? rates.none[i]!)) / 2)).sort((a, b) => a - b);
  const median = paired[Math.floor(paired.length / 2)]!;
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log('\nwatch fan-out: 1,000 devices (10 sockets, 2 messages in flight each), 100 watchers of their subtree');
  console.log(`  ingest, no watchers                  ${fmt(rates.none)} msg/s  (gateway CPU ${fmt(cpu.none.map((x) => x * 100))} %)`);
  console.log(`  ingest, 100 watchers                 ${fmt(rates.watched)} msg/s  (gateway CPU ${fmt(cpu.watched.map((x) => x * 100))} %)`);
  console.log(`  devices/watchers CPU %, none         ${others.none.join(', ')}`);
  console.log(`  devices/watchers CPU %, watched      ${others.watched.join(', ')}`);
  console.log(`  ratio watched / none, all phases     ${ratio.toFixed(3)}  (goal > 0.9)`);
  console.log(`  ratio, median of paired phases       ${median.toFixed(3)}  [${paired.map((x) => x.toFixed(2)).join(', ')}]`);
  console.log(`  watch fan-out, gateway main thread   ${fmt(watchShare.map((x) => x * 100 * 10)).replace(/(\d+)/g, (d) => (Number(d) / 10).toFixed(1))} % of each watched phase`);
  console.log(`  sent to watchers                     ${(sentBytes / 1e6).toFixed(0)} MB in ${delivered.frames} frames (${((sentBytes / 1e6) / ((rounds * phaseMs) / 1000)).toFixed(0)} MB/s)`);
  console.log(`  watcher 0 received                   ${delivered.events} message events = ${(delivered.events / (mean(rates.watched) * rounds * phaseMs / 1000)).toFixed(3)} per ack (1.0 = every report)`);
  await devices.ask({ cmd: 'close' });
  watchers.proc.kill();
  await gw.stop();
  rmSync(gw.config.dataDir, { recursive: true, force: true });
}

await cascadeBench();
await fanOutBench();
