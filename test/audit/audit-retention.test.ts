/** Audit retention (gateway/audit/audit-retention.ts) on a manual clock, against both stores. */
import { describe, expect, it } from 'vitest';
import { AuditRetention } from '../../gateway/audit/audit-retention.js';
import type { Committed, WriteOp } from '../../gateway/device/group-commit.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import { iso } from '../../gateway/ports/clock.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import type { GatewayStore, NewAudit } from '../../gateway/store/types.js';

const DAY = 86_400_000;
const row = (at: number): NewAudit => ({
  timestamp: iso(at), action: 'cancel', target_app_id: null, cascade: false, payload_json: null, auth_domain: 'local',
  source_app_id: null, oauth_subject: null, source_ip: null, user_agent: null, outcome: 'ok',
});

function setup(store: GatewayStore, opts: { maxAgeMs: number; maxRows: number; batch: number }) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const writes: number[] = [];
  // One write a call, as the group commit runs it: the deletes of each batch are counted.
  const enqueue = (op: WriteOp, done: Committed): void => {
    const before = store.auditLog({ limit: 1_000_000 }).length;
    store.transaction(op);
    writes.push(before - store.auditLog({ limit: 1_000_000 }).length);
    done();
  };
  const r = new AuditRetention(clock, enqueue, { ...opts, everyMs: 60_000 });
  return { clock, writes, r };
}

describe.each([
  ['MemoryStore', () => new MemoryStore()],
  ['SqliteStore', () => openSqliteStore(':memory:')],
] as const)('AuditRetention on %s', (_name, make) => {
  it('deletes rows older than the age in bounded batches, one per turn, the newest kept', () => {
    const store = make();
    const { clock, writes, r } = setup(store, { maxAgeMs: 90 * DAY, maxRows: 100_000, batch: 100 });
    const now = clock.now();
    store.transaction((w) => {
      for (let i = 0; i < 250; i++) w.insertAudit(row(now - 100 * DAY + i));
      for (let i = 0; i < 30; i++) w.insertAudit(row(now - DAY + i));
    });
    r.start();
    clock.advance(59_999);
    expect(writes).toEqual([]);
    // One batch a timer turn (the manual clock runs the turns that fall due inside one advance).
    clock.advance(1);
    expect(writes).toEqual([100, 100, 50]);
    expect(r.isSweeping).toBe(false);
    expect(r.deleted).toBe(250);
    expect(store.auditLog({ limit: 1000 })).toHaveLength(30);
    // The next sweep finds nothing to do.
    clock.advance(60_000);
    expect(writes).toEqual([100, 100, 50, 0]);
    r.stop();
    store.close();
  });

  it('keeps at most maxRows rows, the newest', () => {
    const store = make();
    const { clock, writes, r } = setup(store, { maxAgeMs: 90 * DAY, maxRows: 120, batch: 50 });
    const now = clock.now();
    store.transaction((w) => {
      for (let i = 0; i < 200; i++) w.insertAudit(row(now - 1000 + i));
    });
    r.sweep();
    expect(writes).toEqual([50]);
    expect(r.isSweeping).toBe(true);
    clock.advance(0);
    expect(writes).toEqual([50, 30]);
    expect(r.isSweeping).toBe(false);
    const left = store.auditLog({ limit: 1000 });
    expect(left).toHaveLength(120);
    expect(left[left.length - 1]!.timestamp).toBe(iso(now - 1000 + 80));
    r.stop();
    store.close();
  });

  it('a stopped retention starts no further batch', () => {
    const store = make();
    const { clock, writes, r } = setup(store, { maxAgeMs: DAY, maxRows: 100_000, batch: 10 });
    store.transaction((w) => {
      for (let i = 0; i < 50; i++) w.insertAudit(row(clock.now() - 2 * DAY));
    });
    r.sweep();
    r.stop();
    clock.advance(120_000);
    expect(writes).toEqual([10]);
    store.close();
  });
});
