/**
 * `npm run bench`: builds the gateway, runs every bench in turn and prints a
 * report; writes bench/results/latest.json and latest.md. Each bench starts
 * and stops its own processes on 127.0.0.1 and is bounded in time. Options:
 * see lib/options.ts (--quick, --only ingest, ...).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConnections } from './connections.js';
import { runIngest, type IngestOptions, type System } from './ingest.js';
import { summarize } from './lib/cpuprofile.js';
import { ROOT } from './lib/gateway.js';
import { describeMachine } from './lib/machine.js';
import { parseOptions, type RunOptions } from './lib/options.js';
import { renderMarkdown, renderText } from './lib/report.js';
import { ENCRYPTED_GOAL, ratios, sections, type Results } from './lib/summary.js';
import { fmtInt } from './lib/util.js';
import { runRestartStorm } from './restart-storm.js';
import { runVerify, type VerifyResult } from './verify.js';

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

async function step<T>(r: Results, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  const t0 = performance.now();
  log(`${name} ...`);
  try {
    const out = await fn();
    log(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  } catch (e) {
    const msg = `${name}: ${(e as Error).message}`;
    log(`FAILED ${msg}`);
    r.failures.push(msg.split('\n')[0]!);
    return undefined;
  }
}

function build(r: Results): void {
  log('building the gateway (npm run build) ...');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (b.status !== 0) r.notes.push(`npm run build exited ${b.status}; benched whatever dist/ holds. ${(b.stdout + b.stderr).split('\n').slice(0, 3).join(' ')}`);
}

async function profile(r: Results, o: RunOptions, system: System, base: IngestOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trails-bench-prof-'));
  try {
    await runIngest(system, { ...base, warmupMs: 1000, durationMs: o.quick ? 2000 : 5000, profileDir: dir });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) r.profiles[system] = summarize(join(dir, file), ROOT, 12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function verifyRound(r: Results, o: RunOptions, round: number): Promise<VerifyResult | undefined> {
  const label = o.rounds > 1 ? `verify (round ${round}/${o.rounds})` : 'verify';
  const v = await step(r, label, () => runVerify(o.verifyMs));
  if (v) r.verify.push({ ...v, round });
  return v;
}

/**
 * Enough pre-signed frames for the signed tier at the verify-bound rate (the
 * gateway verifies on worker threads: all cores), and then some. Signing live
 * would slow the generators and flatter encrypted / signed.
 */
function presignFor(v: VerifyResult | undefined, o: RunOptions, seconds: number): number {
  const verifyRate = Math.max(v?.oneCore ?? 0, v?.allCores ?? 0) || 10_000;
  return Math.ceil((verifyRate * seconds * 1.1) / o.devices) + o.window;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), fileURLToPath(new URL('./results', import.meta.url)));
  const t0 = performance.now();
  const r: Results = {
    startedAt: new Date().toISOString(), seconds: 0, options: o, machine: describeMachine(),
    verify: [], ingest: [], ratios: {}, restart: [], profiles: {}, failures: [], notes: [],
  };
  if (o.build && o.entry === 'dist') build(r);
  const has = (b: RunOptions['only'][number]): boolean => o.only.includes(b);
  const ingesting = has('ingest') ? o.systems : [];

  // The verify-bound reference runs in every round, just before the signed
  // tier: a ratio to a figure measured minutes away would measure the drift.
  const verifyEachRound = ingesting.includes('signed');
  if (has('verify') && !verifyEachRound) await verifyRound(r, o, 1);

  const seconds = (o.warmupMs + o.durationMs + 2000) / 1000;
  const base: IngestOptions = { devices: o.devices, window: o.window, warmupMs: o.warmupMs, durationMs: o.durationMs, procs: o.procs, entry: o.entry, presign: 0 };
  // Systems take turns, round after round: on a shared machine the rate drifts
  // between minutes, and a ratio of two runs far apart would measure the drift.
  for (let round = 1; round <= o.rounds; round++) {
    for (const system of ingesting) {
      const label = o.rounds > 1 ? `ingest ${system} (round ${round}/${o.rounds})` : `ingest ${system}`;
      if (system === 'signed') base.presign = presignFor(await verifyRound(r, o, round), o, seconds);
      const res = await step(r, label, () => runIngest(system, base));
      if (res) r.ingest.push({ ...res, round }), log(`  ${system}: ${fmtInt(res.acksPerSec)} acks/s`);
    }
  }
  r.ratios = ratios(r.ingest, r.verify);
  const missed: System[] = [];
  if (o.profile === 'always' || (o.profile === 'auto' && (r.ratios.openOverAedes ?? 1) < 1)) missed.push('open');
  const signedRatio = Math.min(r.ratios.signedOverVerify1 ?? 1, r.ratios.signedOverVerifyAll ?? 1);
  if (o.profile === 'always' || (o.profile === 'auto' && signedRatio < 0.7)) missed.push('signed');
  if (o.profile === 'always' || (o.profile === 'auto' && (r.ratios.encryptedOverSigned ?? 1) < ENCRYPTED_GOAL)) missed.push('encrypted');
  for (const system of missed.filter((s) => ingesting.includes(s))) await step(r, `profile ${system}`, () => profile(r, o, system, base));

  if (has('connections')) r.connections = await step(r, 'connections', () => runConnections({ connections: o.connections, procs: o.connProcs, entry: o.entry }));

  if (has('restart')) {
    for (const ratePerSec of o.restartRates) {
      const res = await step(r, `restart storm (${ratePerSec || 'unpaced'})`, () =>
        runRestartStorm({
          devices: o.restartDevices, window: o.window, ratePerSec, procs: o.procs, entry: o.entry,
          loadBeforeKillMs: o.restartLoadMs, loadAfterMs: 2000, limitMs: 30_000, graceMs: o.restartGraceMs,
        }),
      );
      if (res) r.restart.push(res);
      if (res && !res.dataOk) r.failures.push(`restart storm (${ratePerSec || 'unpaced'}): the ledger check failed (lost or duplicated messages)`);
    }
  }

  r.seconds = (performance.now() - t0) / 1000;
  const title = `TRAILS gateway bench${o.quick ? ' (quick)' : ''}`;
  const s = sections(r);
  process.stdout.write(`\n${renderText(title, s)}\n`);
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'latest.json'), `${JSON.stringify(r, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
  writeFileSync(join(o.out, 'latest.md'), renderMarkdown(title, s));
  log(`wrote ${join(o.out, 'latest.json')} and latest.md`);
  process.exitCode = r.failures.length ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130)); // 'exit' kills the children

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
});
