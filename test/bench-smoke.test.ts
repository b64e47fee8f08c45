/**
 * The bench code paths at toy size (bench/README.md): a few devices for about
 * a second, gateway from source. Asserts outcomes, never timings: acks
 * arrive, nothing acknowledged is lost across kill -9, nothing is stored twice.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIngest, type IngestOptions } from '../bench/ingest.js';
import { mosquittoPath } from '../bench/lib/brokers.js';
import { tempDir } from '../bench/lib/util.js';
import { checkLedger, runRestartStorm } from '../bench/restart-storm.js';

const tiny: IngestOptions = { devices: 20, window: 4, warmupMs: 200, durationMs: 1000, procs: 0, entry: 'src', presign: 400 };

describe('bench smoke', () => {
  it.each(['open', 'signed', 'aedes'] as const)('ingest %s: acks arrive, no error frames', async (system) => {
    const r = await runIngest(system, tiny);
    expect(r.acksInWindow).toBeGreaterThan(0);
    expect(r.acksPerSec).toBeGreaterThan(0);
    expect(r.counters.errors).toEqual({});
    expect(r.counters.strayAcks).toBe(0);
    expect(r.counters.registrations).toBe(tiny.devices);
  }, 60_000);

  it('ingest encrypted: sealed acks arrive, nothing lost', async () => {
    const r = await runIngest('encrypted', tiny);
    expect(r.acksInWindow).toBeGreaterThan(0);
    expect(r.counters.errors).toEqual({}); // no refusal either way, every handshake genuine
    expect(r.counters.registrations).toBe(tiny.devices);
    expect(r.unackedAfterDrain).toBe(0);
    expect(r.counters.acks).toBe(r.counters.sent);
    expect(r.counters.strayAcks + r.counters.duplicateAcks).toBe(0);
    expect(r.generators.cryptoSec).toBeGreaterThan(0);
  }, 60_000);

  it.skipIf(!mosquittoPath())('ingest mosquitto: acks arrive', async () => {
    const r = await runIngest('mosquitto', tiny);
    expect(r.acksInWindow).toBeGreaterThan(0);
  }, 60_000);

  it('restart storm: kill -9 mid-load loses no acked message and stores none twice', async () => {
    const r = await runRestartStorm({
      devices: 20, window: 4, ratePerSec: 0, procs: 0, entry: 'src', loadBeforeKillMs: 1000, loadAfterMs: 500, limitMs: 30_000, graceMs: 0,
    });
    expect(r.check.ackedBeforeKill).toBeGreaterThan(0);
    expect(r.counters.resent).toBeGreaterThan(0); // unacked messages were re-sent after re_register
    expect(r.counters.registrations).toBe(40); // every device registered, then re-registered
    expect(r.backWithinLimit).toBe(20);
    expect(r.liveAppsAfter).toBe(20);
    expect(r.unackedAfterDrain).toBe(0);
    expect(r.check.lostAcked).toBe(0);
    expect(r.check.lostAckedBeforeKill).toBe(0);
    expect(r.check.duplicateRows).toBe(0);
    expect(r.check.storedNotAcked).toBe(0);
    expect(r.check.rows).toBe(r.check.expectedRows);
    expect(r.counters.errors).toEqual({});
    expect(r.ok).toBe(true);
  }, 90_000);

  it('the ledger check sees a lost and a duplicated message', () => {
    const dir = tempDir('ledger');
    try {
      const path = join(dir.path, 'trails.db');
      const db = new Database(path);
      db.exec(`CREATE TABLE messages (app_id TEXT, seq INTEGER, direction TEXT)`);
      const ins = db.prepare(`INSERT INTO messages VALUES (?, ?, 'in')`);
      for (const seq of [1, 2, 2, 4]) ins.run('a', seq); // 2 twice, 3 missing, 4 never acked
      db.close();
      const c = checkLedger(path, [{ appId: 'a', acked: [1, 2, 3], ackedAtKill: 2, sent: 4 }]);
      expect(c).toMatchObject({ rows: 4, expectedRows: 3, ackedBeforeKill: 2, lostAckedBeforeKill: 0, lostAcked: 1, duplicateRows: 1, storedNotAcked: 1 });
    } finally {
      dir.remove();
    }
  });
});
