/** Turns the results of a run into report sections (see report.ts). */
import type { ConnectionsResult } from '../connections.js';
import type { IngestResult, System } from '../ingest.js';
import type { RestartResult } from '../restart-storm.js';
import type { VerifyResult } from '../verify.js';
import type { ProfileSummary } from './cpuprofile.js';
import type { Machine } from './machine.js';
import type { RunOptions } from './options.js';
import type { Section } from './report.js';
import { fmt, fmtInt, kib, median, mib } from './util.js';

export interface Ratios {
  openOverAedes?: number;
  openOverMosquitto?: number;
  signedOverVerify1?: number;
  signedOverVerifyAll?: number;
  /** Issue goal: encryption costs at most 15 % of the signed tier's throughput. */
  encryptedOverSigned?: number;
}

export const ENCRYPTED_GOAL = 0.85;

/** One system's ingest run in one round (options.rounds). */
export type IngestRun = IngestResult & { round: number };
/** The verify-bound reference, measured in the round of the signed run it is compared with. */
export type VerifyRun = VerifyResult & { round: number };

export interface Results {
  startedAt: string;
  seconds: number;
  options: RunOptions;
  machine: Machine;
  verify: VerifyRun[];
  ingest: IngestRun[];
  /** The median over the rounds of each round's ratio. */
  ratios: Ratios;
  connections?: ConnectionsResult;
  restart: RestartResult[];
  profiles: Partial<Record<System, ProfileSummary>>;
  failures: string[];
  notes: string[];
}

const goal = (met: boolean | undefined): string => (met === undefined ? 'n/a' : met ? 'MET' : 'MISSED');
const ms = (x: number): string => (Number.isFinite(x) ? `${fmtInt(x)} ms` : 'not back');

/** Each ratio is taken within a round (systems run side by side), then the median over the rounds. */
export function ratios(ingest: IngestRun[], verify: VerifyRun[]): Ratios {
  const rounds = roundRatios(ingest, verify);
  const out: Ratios = {};
  for (const key of RATIO_KEYS) {
    const m = median(rounds.map((q) => q[key]).filter((x): x is number => x !== undefined));
    if (m !== undefined) out[key] = m;
  }
  return out;
}

const RATIO_KEYS = ['openOverAedes', 'openOverMosquitto', 'signedOverVerify1', 'signedOverVerifyAll', 'encryptedOverSigned'] as const;

/** The ratios of each round, in round order. */
export function roundRatios(ingest: IngestRun[], verify: VerifyRun[]): Ratios[] {
  const rounds = [...new Set(ingest.map((r) => r.round))].sort((a, b) => a - b);
  return rounds.map((n) => ratiosOf(ingest.filter((r) => r.round === n), verify.find((v) => v.round === n)));
}

function ratiosOf(ingest: IngestResult[], verify?: VerifyResult): Ratios {
  const rate = (s: System): number | undefined => ingest.find((r) => r.system === s)?.acksPerSec;
  const div = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
  return {
    openOverAedes: div(rate('open'), rate('aedes')),
    openOverMosquitto: div(rate('open'), rate('mosquitto')),
    signedOverVerify1: div(rate('signed'), verify?.oneCore),
    signedOverVerifyAll: div(rate('signed'), verify?.allCores),
    encryptedOverSigned: div(rate('encrypted'), rate('signed')),
  };
}

export function sections(r: Results): Section[] {
  const m = r.machine;
  const out: Section[] = [
    {
      title: 'Machine',
      lines: [
        `CPU: ${m.cpuModel}, ${m.cores} cores; RAM ${(m.ramBytes / 2 ** 30).toFixed(1)} GiB; open files limit ${m.openFilesLimit}`,
        `Node ${m.node}, Linux ${m.kernel}, SQLite ${m.sqlite}, ws ${m.ws}, mosquitto ${m.mosquitto}, aedes ${m.aedes}, mqtt.js ${m.mqttJs}`,
        `Load average at start: ${m.loadAvgAtStart.join(' ')}; commit ${m.gitCommit}; run ${r.startedAt}, ${fmt(r.seconds, 0)} s${r.options.quick ? ' (--quick)' : ''}`,
      ],
      tables: [],
    },
  ];
  if (r.verify.length) out.push(verifySection(r.verify));
  if (r.ingest.length) out.push(ingestSection(r));
  if (r.connections) out.push(connectionsSection(r.connections));
  if (r.restart.length) out.push(restartSection(r));
  for (const [system, p] of Object.entries(r.profiles)) out.push(profileSection(system, p));
  if (r.failures.length || r.notes.length) out.push({ title: 'Notes', lines: [...r.failures.map((f) => `FAILED: ${f}`), ...r.notes], tables: [] });
  return out;
}

function verifySection(runs: VerifyRun[]): Section {
  const v = runs[0]!;
  const line = (k: 'oneCore' | 'allCores'): string =>
    runs.length > 1 ? `${fmtInt(median(runs.map((x) => x[k]))!)} (rounds ${runs.map((x) => fmtInt(x[k])).join(', ')})` : fmtInt(v[k]);
  return {
    title: 'Ed25519 verify (node:crypto)',
    lines: [
      `${line('oneCore')} verifies/s on 1 core; ${line('allCores')}/s on ${v.threads} worker threads (${v.cases} signing inputs of signed Status frames)`,
      ...(runs.length > 1 ? ['Measured in each round just before the signed tier; each round\'s signed ratios use that round\'s figures.'] : []),
    ],
    tables: [],
  };
}

/** Per system, the run with the median rate (the table's row), and every round's rate. */
function bySystem(ingest: IngestRun[]): Array<{ row: IngestRun; rates: number[] }> {
  const systems = [...new Set(ingest.map((x) => x.system))];
  return systems.map((system) => {
    const runs = ingest.filter((x) => x.system === system);
    const rates = runs.map((x) => x.acksPerSec);
    const mid = median(rates)!;
    return { row: runs.find((x) => x.acksPerSec === mid)!, rates };
  });
}

function ingestSection(r: Results): Section {
  const o = r.options;
  const q = r.ratios;
  const perRound = roundRatios(r.ingest, r.verify);
  const several = perRound.length > 1;
  const line = (label: string, key: keyof Ratios, target?: number): string => {
    const x = q[key];
    if (x === undefined) return `${label}: n/a`;
    const rounds = several ? `; rounds ${perRound.map((p) => (p[key] === undefined ? 'n/a' : fmt(p[key]!))).join(', ')}` : '';
    return `${label}: ${fmt(x)}${target !== undefined ? ` (goal >= ${fmt(target)}: ${goal(x >= target)})` : ''}${rounds}`;
  };
  const systems = bySystem(r.ingest);
  return {
    title: 'Ingest (durable acks per second)',
    lines: [
      `${fmtInt(o.devices)} devices, window ${o.window} unacked messages each, ${o.durationMs / 1000} s measured after ${o.warmupMs / 1000} s warm-up, ${o.procs} generator processes.`,
      ...(several
        ? [`${perRound.length} rounds, the systems in turn in each; a row is the system's median round, a ratio the median of the ratios within each round.`]
        : []),
      'Gateway: ack after the SQLite commit is on disk (WAL fdatasync on the flush thread). MQTT: QoS 1 PUBACK, no subscribers, in-memory.',
    ],
    tables: [
      {
        head: ['system', 'acks/s', ...(several ? ['acks/s by round'] : []), 'p50 ms', 'p99 ms', 'server CPU', 'main thread run + wait', 'CPU s', 'CPU µs/ack server / all', 'server RSS', 'generators CPU', 'other CPU'],
        rows: systems.map(({ row: x, rates }) => [
          x.system,
          fmtInt(x.acksPerSec),
          ...(several ? [rates.map(fmtInt).join(', ')] : []),
          fmt(x.latencyMs.p50, 1),
          fmt(x.latencyMs.p99, 1),
          `${fmt(x.server.cpuCores)} cores`,
          x.server.mainThread ? `${fmt(x.server.mainThread.runCores)} + ${fmt(x.server.mainThread.waitCores)}` : 'n/a',
          fmt(x.server.cpuSecInWindow, 1),
          perAck(x),
          mib(x.server.rssBytes),
          x.generators.cpuCores.map((c) => fmt(c)).join(' + '),
          fmt(x.otherCores),
        ]),
      },
    ],
    after: [
      '',
      line('open / aedes', 'openOverAedes', 1),
      line('open / mosquitto', 'openOverMosquitto'),
      line('signed / verify (1 core)', 'signedOverVerify1', 0.7),
      line(`signed / verify (all ${r.verify[0]?.threads ?? '?'} cores)`, 'signedOverVerifyAll', 0.7),
      line('encrypted / signed', 'encryptedOverSigned', ENCRYPTED_GOAL),
      ...systems.map((x) => x.row).flatMap((x) => {
        const errs = Object.entries(x.counters.errors);
        const notes = [];
        if (errs.length) notes.push(`${x.system}: error frames ${errs.map(([k, n]) => `${k}=${n}`).join(', ')}`);
        if (x.counters.liveSigned) notes.push(`${x.system}: ${x.counters.liveSigned} frames signed during the run (pre-signed stock ran out)`);
        if (x.unackedAfterDrain) notes.push(`${x.system}: ${fmtInt(x.unackedAfterDrain)} messages still unacked 5 s after sending stopped`);
        if (x.system === 'encrypted') notes.push(cryptoNote(x));
        return notes;
      }),
      '"server CPU" is the broker or gateway process (1.00 = one core busy; "CPU s" its CPU time in the window); "main thread run + wait" is its main thread on a core, plus ready but waiting for one (schedstat): near 1.00 in all, that thread bounds the rate; "CPU µs/ack" is CPU time per acked message of the server, and of the server and generators together (on a machine the generators share, "all" bounds the rate: cores / all); "other CPU" is load on the machine from anything outside the bench.',
    ],
  };
}

/** CPU microseconds per acked message in the window: the server's, then the server's and generators' together. */
function perAck(x: IngestResult): string {
  if (!x.acksInWindow) return 'n/a';
  const us = (sec: number): string => fmt((sec * 1e6) / x.acksInWindow, 1);
  return `${us(x.server.cpuSecInWindow)} / ${us(x.server.cpuSecInWindow + x.generators.cpuSecInWindow)}`;
}

/** How much of the generators' CPU went to sealing frames and opening acks (done live, unlike the pre-signed signed tier). */
function cryptoNote(x: IngestResult): string {
  const g = x.generators;
  const us = x.acksInWindow ? (g.cryptoSec * 1e6) / x.acksInWindow : NaN;
  const share = g.cpuSecInWindow ? (100 * g.cryptoSec) / g.cpuSecInWindow : NaN;
  return `encrypted: the generators seal and open live (signed frames are pre-signed): ${fmt(g.cryptoSec, 2)} s of wall time in seal/open in the window, ${fmt(us, 1)} µs per acked message (${fmt(share, 0)} % of their ${fmt(g.cpuSecInWindow, 1)} CPU s; wall time includes waiting for a core).`;
}

function connectionsSection(c: ConnectionsResult): Section {
  const per = c.perConnection;
  return {
    title: 'Idle connections',
    lines: [
      `${fmtInt(c.registered)} of ${fmtInt(c.connections)} devices registered (open tier); the gateway reports ${fmtInt(c.gatewayConnections)} connections, ${fmtInt(c.liveApps)} live apps.`,
      `Registrations: ${fmtInt(c.registrationsPerSec)}/s (${fmt(c.registerSec, 1)} s for all, gateway CPU ${fmt(c.registerCpuCores)} cores).`,
      `RSS: ${mib(c.baseline.rssBytes)} idle -> ${mib(c.loaded.rssBytes)} = ${kib(per.rssBytes)} per connection (goal <= 10 KiB: ${goal(per.rssBytes <= 10 * 1024)}).`,
      `JS heap used: ${mib(c.baseline.heapUsedBytes)} -> ${mib(c.loaded.heapUsedBytes)} = ${kib(per.heapBytes)} per connection (both after a forced GC).`,
    ],
    tables: [],
  };
}

function restartSection(r: Results): Section {
  const sec = (x: number): string => (Number.isFinite(x) ? (x / 1000).toFixed(1) : '-');
  return {
    title: 'Restart storm (kill -9 mid-load, restart on the same data dir)',
    lines: [
      `${fmtInt(r.options.restartDevices)} devices, window ${r.options.window}; reconnect per spec §19 (backoff + jitter, re_register, re-send unacked with the original seq).`,
      'Back = registered again, seconds from the kill (- = not back by the end of the wait). Ledger = acks the devices saw vs. rows in the',
      'messages table, read with better-sqlite3 (read-only) after the run. Failed attempts: connections refused or closed before registering.',
    ],
    tables: [
      {
        head: ['load', 'restart', 'back p50/p90/p99/last s', 'back in 30 s', 'back at end', 'failed attempts', 'acked pre-kill', 'lost', 'dup rows', 'rows = acked', 'resent (dup acks)', 'goal'],
        rows: r.restart.map((x) => [
          x.ratePerSec ? `${x.ratePerSec} msg/s/device` : 'unpaced',
          ms(x.gatewayRestartMs),
          [x.backMs.p50, x.backMs.p90, x.backMs.p99, x.backMs.last].map(sec).join(' / '),
          `${fmtInt(x.backWithinLimit)}/${fmtInt(x.devices)}`,
          `${fmtInt(x.backAtEnd)} at ${sec(x.waitedMs)} s`,
          failures(x.counters.connectFailures ?? {}),
          fmtInt(x.check.ackedBeforeKill),
          String(x.check.lostAcked),
          String(x.check.duplicateRows),
          `${fmtInt(x.check.rows)} = ${fmtInt(x.check.expectedRows)}${x.check.storedNotAcked ? ` (+${x.check.storedNotAcked} unacked)` : ''}`,
          `${fmtInt(x.counters.resent)} (${fmtInt(x.counters.duplicateAcks)})`,
          x.ok ? 'MET' : x.dataOk ? 'MISSED (time)' : 'FAILED (data)',
        ]),
      },
    ],
  };
}

/** Failed connection attempts by reason, e.g. "2,362 ECONNREFUSED" (refused while the gateway was down). */
function failures(f: Record<string, number>): string {
  const parts = Object.entries(f).map(([why, n]) => `${fmtInt(n)} ${why}`);
  return parts.length ? parts.join(', ') : '0';
}

function profileSection(system: string, p: ProfileSummary): Section {
  const rows = (xs: ProfileSummary['self']): string[][] => xs.map((x) => [x.fn, `${fmt(x.pct, 1)} %`, `${fmtInt(x.ms)} ms`]);
  return {
    title: `Where the gateway's CPU goes (${system} tier, node --cpu-prof, ${fmtInt(p.totalMs)} ms of samples)`,
    lines: ['Self time: the function itself. Inclusive: with the function anywhere on the stack (gateway code only).'],
    tables: [
      { head: ['self', 'share', 'time'], rows: rows(p.self) },
      { head: ['inclusive (gateway)', 'share', 'time'], rows: rows(p.inclusive) },
    ],
  };
}
