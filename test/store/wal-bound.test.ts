/**
 * The WAL's size bound (docs/ARCHITECTURE.md "Durability"): under a long run
 * of small commits the -wal file stays under 64 MiB, and a reader holding a
 * snapshot for a while does not leave it large once the reader is gone.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { app, msg, uuid } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'trails-walbound-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;
const walSize = (db: string): number => {
  try {
    return statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
};
const durable = (s: ReturnType<typeof openSqliteStore>): Promise<void> =>
  new Promise((resolve, reject) => s.whenDurable((err) => (err ? reject(err) : resolve())));

describe('WAL bound', () => {
  it('stays under 64 MiB through many small commits, and shrinks back after a checkpoint', async () => {
    const path = join(dir, 'bound.db');
    const store = openSqliteStore(path);
    try {
      const A = uuid(1);
      store.transaction((w) => w.insertApp(app(A)));
      // A payload of ~3 KB makes each commit write a few pages; about 150 MiB in all.
      const pad = 'x'.repeat(3000);
      let seq = 0;
      let peak = 0;
      const started = Date.now();
      while (seq < 30_000 && Date.now() - started < 6_000) {
        for (let i = 0; i < 20; i++) {
          const s = ++seq;
          store.transaction((w) => w.insertMessage(msg(A, s, { payload_json: { pad } })), { deferSync: true });
        }
        await durable(store);
        peak = Math.max(peak, walSize(path));
      }
      console.log(`wal peak ${(peak / MiB).toFixed(1)} MiB over ${seq} commits`);
      expect(seq).toBeGreaterThan(15_000); // enough writes to pass the bound several times over
      expect(peak).toBeLessThanOrEqual(64 * MiB);
      // Quiet now: the next checkpoint (at most a second away) lets the writer start over, truncated.
      await new Promise((r) => setTimeout(r, 1200));
      store.transaction((w) => w.insertMessage(msg(A, ++seq)), { deferSync: true });
      await durable(store);
      await new Promise((r) => setTimeout(r, 1200));
      store.transaction((w) => w.insertMessage(msg(A, ++seq)), { deferSync: true });
      await durable(store);
      expect(walSize(path)).toBeLessThanOrEqual(16 * MiB);
      expect(store.maxSeq(A)).toBe(seq);
    } finally {
      store.close();
    }
  }, 30_000);
});
