/**
 * Bench 3, restart storm: `devices` devices sending with a window of unacked
 * messages; the gateway is killed with SIGKILL mid-load and started again on
 * the same data dir and port. The devices reconnect with spec §19 backoff,
 * re_register and re-send what was unacked. Measured: time from the kill
 * until every device is registered again. Checked against the client-side
 * ledger, in the SQLite file: no acked message lost, no (app_id, seq) twice,
 * exactly one row per distinct acked seq.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { INGEST_GATEWAY_ARGS } from './ingest.js';
import { GatewayProcess } from './lib/gateway.js';
import { freePort, sleep, tempDir, waitFor } from './lib/util.js';
import type { LedgerEntry } from './sim/fleet.js';
import { startPool, type Pool } from './sim/pool.js';
import { addCounters, type FleetCounters } from './sim/stats.js';

export interface RestartOptions {
  devices: number;
  window: number;
  /** Messages per second per device; 0 = as fast as acks allow (the ingest load). */
  ratePerSec: number;
  procs: number;
  entry: 'dist' | 'src';
  loadBeforeKillMs: number;
  loadAfterMs: number;
  /** The goal: every device running again within this long after the kill. */
  limitMs: number;
  /** How long past the limit to keep waiting for stragglers. */
  graceMs: number;
  /** Run the restarted gateway under --cpu-prof, writing the profile here. */
  profileDir?: string;
}

export interface LedgerCheck {
  rows: number;
  /** One per distinct acked seq. */
  expectedRows: number;
  ackedBeforeKill: number;
  lostAckedBeforeKill: number;
  lostAcked: number;
  /** (app_id, seq) pairs stored more than once. */
  duplicateRows: number;
  /** Stored rows the devices never saw acked (must be 0 after the drain). */
  storedNotAcked: number;
}

export interface RestartResult {
  devices: number;
  ratePerSec: number;
  /** Gateway start (spawn to /healthz 200) after the kill, on the same data dir. */
  gatewayRestartMs: number;
  /** Time from the kill until each device was registered again: percentiles and the last one. */
  backMs: { p50: number; p90: number; p99: number; last: number };
  /** Devices registered again within limitMs of the kill. */
  backWithinLimit: number;
  /** Devices registered again when the bench stopped waiting, waitedMs after the kill. */
  backAtEnd: number;
  waitedMs: number;
  allBackWithinLimit: boolean;
  liveAppsAfter: number;
  unackedAfterDrain: number;
  counters: FleetCounters;
  check: LedgerCheck;
  /** No acked message lost, none stored twice, and (once everything was acked) one row per acked seq. */
  dataOk: boolean;
  /** dataOk and every device back within the limit. */
  ok: boolean;
}

/** The gateway keeps every Status row here: with the default retention (100) old rows are pruned by design. */
const RESTART_GATEWAY_ARGS = [...INGEST_GATEWAY_ARGS, '--snapshot-retention', '10000000'];

export async function runRestartStorm(o: RestartOptions): Promise<RestartResult> {
  const dir = tempDir('restart');
  const port = await freePort();
  const start = (nodeArgs: string[] = []): Promise<GatewayProcess> =>
    GatewayProcess.start({ port, dataDir: dir.path, entry: o.entry, args: RESTART_GATEWAY_ARGS, nodeArgs });
  let gw = await start();
  let pool: Pool | undefined;
  try {
    const namePrefix = `restart-${process.pid}`;
    const devices = { kind: 'ws', url: gw.wsUrl, devices: o.devices, window: o.window, ratePerSec: o.ratePerSec, tier: 'open' } as const;
    pool = await startPool({ ...devices, reconnect: true, presign: 0, concurrency: 50, namePrefix }, o.procs);
    const p = pool;
    await pool.call('prepare');
    await pool.call('connect');
    await pool.call('go');
    await sleep(o.loadBeforeKillMs);

    const killAt = Date.now();
    await gw.kill9();
    await pool.call('markKill'); // nothing can be acked until the new gateway is up
    gw = await start(o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : []);

    const allBack = async (): Promise<boolean> => (await p.call('state')).every((s) => s.reRegistered === s.devices);
    await waitFor(allBack, o.limitMs + o.graceMs, 100);
    const states = await pool.call('state');
    const waitedMs = Date.now() - killAt;
    const back = states.flatMap((s) => s.reRegisteredAt.map((t) => t - killAt)).sort((a, b) => a - b);
    const missing = o.devices - back.length;
    const pct = (q: number): number => (Math.ceil(q * o.devices) > back.length ? Infinity : back[Math.ceil(q * o.devices) - 1]!);
    const backMs = { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), last: missing ? Infinity : back[back.length - 1]! };
    const backWithinLimit = back.filter((t) => t <= o.limitMs).length;
    const liveAppsAfter = (await gw.health()).live_apps;

    await sleep(o.loadAfterMs);
    const drained = await pool.call('drain', 15_000);
    const counters = addCounters((await pool.call('mark')).map((m) => m.counters));
    const ledger = (await pool.call('ledger')).flat();
    await pool.close();
    await gw.stop();

    const check = checkLedger(join(dir.path, 'trails.db'), ledger);
    const unackedAfterDrain = drained.reduce((n, d) => n + d.inflight, 0);
    const allBackWithinLimit = backWithinLimit === o.devices;
    // Devices that never came back still hold unacked messages, some of which
    // may have been committed before the kill: only then may rows exceed acks.
    const settled = unackedAfterDrain === 0 ? check.rows === check.expectedRows && check.storedNotAcked === 0 : true;
    const dataOk = check.lostAcked === 0 && check.duplicateRows === 0 && settled;
    return {
      devices: o.devices, ratePerSec: o.ratePerSec, gatewayRestartMs: gw.startupMs, backMs, backWithinLimit, backAtEnd: back.length, waitedMs, allBackWithinLimit,
      liveAppsAfter, unackedAfterDrain, counters, check, dataOk, ok: dataOk && allBackWithinLimit,
    };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- gateway output ---\n${gw.tail.text()}`);
  } finally {
    await pool?.close().catch(() => undefined);
    await gw.stop();
    dir.remove();
  }
}

/** Compares the messages table with what the devices saw acked. */
export function checkLedger(dbPath: string, ledger: LedgerEntry[]): LedgerCheck {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const duplicateRows = (
      db.prepare(`SELECT app_id, seq, count(*) AS n FROM messages WHERE direction = 'in' GROUP BY app_id, seq HAVING count(*) > 1`).all() as unknown[]
    ).length;
    const rows = db.prepare(`SELECT count(*) FROM messages WHERE direction = 'in'`).pluck().get() as number;
    const seqsOf = db.prepare(`SELECT seq FROM messages WHERE app_id = ? AND direction = 'in'`).pluck();
    const c: LedgerCheck = { rows, expectedRows: 0, ackedBeforeKill: 0, lostAckedBeforeKill: 0, lostAcked: 0, duplicateRows, storedNotAcked: 0 };
    for (const e of ledger) {
      const stored = new Set(seqsOf.all(e.appId) as number[]);
      const acked = new Set(e.acked);
      c.expectedRows += acked.size;
      const beforeKill = e.ackedAtKill < 0 ? [] : e.acked.slice(0, e.ackedAtKill);
      c.ackedBeforeKill += beforeKill.length;
      for (const seq of beforeKill) if (!stored.has(seq)) c.lostAckedBeforeKill++;
      for (const seq of acked) if (!stored.has(seq)) c.lostAcked++;
      for (const seq of stored) if (!acked.has(seq)) c.storedNotAcked++;
    }
    return c;
  } finally {
    db.close();
  }
}
