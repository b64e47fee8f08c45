/**
 * A full disk costs nothing (issue 12): a frame refused with
 * storage_unavailable leaves no trace, so its re-send is stored; storage
 * failures do not close sockets (4002); a socket whose registration could not
 * be stored gets the registration timeout again; apps.last_seq is right when
 * a session ends.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import type { CommitOptions, StoreWriter } from '../../gateway/store/types.js';
import { CloseCode } from '../../protocol/frames.js';
import { Device, makeHarness } from '../support/hub-harness.js';

/** A store whose commits fail while `full` is set, as SQLite's do on a full disk (the whole transaction). */
class FullDiskStore extends MemoryStore {
  full = false;
  /** Data seqs whose row write fails alone (a commit that fails in part). */
  readonly failSeqs = new Set<number>();

  override transaction<T>(fn: (w: StoreWriter) => T, opts?: CommitOptions): T {
    if (this.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return super.transaction((w) => fn(this.wrap(w)), opts);
  }
  override batch(ops: ReadonlyArray<(w: StoreWriter) => void>, opts?: CommitOptions): Array<Error | undefined> {
    if (this.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return super.batch(ops.map((op) => (w: StoreWriter) => op(this.wrap(w))), opts);
  }

  private wrap(w: StoreWriter): StoreWriter {
    const failSeqs = this.failSeqs;
    return new Proxy(w, {
      get(target, prop, receiver) {
        if (prop !== 'insertMessage') return Reflect.get(target, prop, receiver) as unknown;
        return (m: { seq: number; direction: string }) => {
          if (m.direction === 'in' && failSeqs.has(m.seq)) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          return target.insertMessage(m as Parameters<StoreWriter['insertMessage']>[0]);
        };
      },
    });
  }
}

const codes = (c: { ofType(t: 'error'): Array<{ code: string; seq?: number }> }): string[] => c.ofType('error').map((e) => e.code);
const acks = (c: { ofType(t: 'ack'): Array<{ seq: number; duplicate?: boolean }> }): number[] => c.ofType('ack').map((a) => a.seq);


/** A registered device whose first Status is stored, on a disk that is full from then on. */
function fullAfterFirstStatus() {
  const store = new FullDiskStore();
  const h = makeHarness({}, store);
  const { c, d } = h.registered();
  c.frame(d.message({ n: 1 }));
  h.commit();
  store.full = true;
  return { store, h, c, d };
}

describe('a full disk', () => {
  it('a refused seq is stored when re-sent on the same socket, and later seqs leave no hole', () => {
    const { store, h, c, d } = fullAfterFirstStatus();
    c.frame(d.message({ n: 2 }));
    c.frame(d.message({ n: 3 }));
    h.commit();
    expect(codes(c)).toEqual(['storage_unavailable', 'storage_unavailable']);
    store.full = false;
    // The device re-sends what was not acked, then goes on.
    c.frame(d.message({ n: 2 }, 'Status', 2));
    c.frame(d.message({ n: 3 }, 'Status', 3));
    c.frame(d.message({ n: 4 }, 'Status', 4));
    h.commit();
    expect(acks(c)).toEqual([1, 2, 3, 4]);
    expect(codes(c)).toEqual(['storage_unavailable', 'storage_unavailable']);
    expect(store.messages(d.appId).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(store.seqGaps(d.appId)).toEqual([]);
  });

  it('a refused seq is stored when re-sent after re_register on a new socket', () => {
    const { store, h, c, d } = fullAfterFirstStatus();
    c.frame(d.message({ n: 2 }));
    h.commit();
    store.full = false;
    // The device gave up on the old socket (not yet closed here) and comes back on a new one.
    const c2 = h.connect();
    c2.frame(d.reRegister());
    h.commit();
    expect(c2.ofType('registered')[0]?.last_seq).toBe(1);
    c2.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    expect(acks(c2)).toEqual([2]);
    expect(store.maxSeq(d.appId)).toBe(2);
  });

  it('a gap opened by a refused frame is not recorded; the frames of it are new again', () => {
    const { store, h, c, d } = fullAfterFirstStatus();
    c.frame(d.message({ n: 5 }, 'Status', 5)); // would open gap 2..4
    h.commit();
    store.full = false;
    c.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    expect(acks(c)).toEqual([1, 2]);
    expect(store.seqGaps(d.appId)).toEqual([]);
  });

  it('a refused late fill can be sent again: its gap stays open', () => {
    const store = new FullDiskStore();
    const h = makeHarness({}, store);
    const { c, d } = h.registered();
    c.frame(d.message({ n: 1 }));
    c.frame(d.message({ n: 4 }, 'Status', 4)); // gap 2..3, recorded
    h.commit();
    store.full = true;
    c.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    store.full = false;
    c.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    expect(acks(c)).toEqual([1, 4, 2]);
    expect(store.seqGaps(d.appId).map((g) => [g.from_seq, g.to_seq])).toEqual([[3, 3]]);
  });

  it('a seq refused below one that was stored (a commit failed in part) becomes a recorded gap, and its re-send fills it', () => {
    const store = new FullDiskStore();
    const h = makeHarness({}, store);
    const { c, d } = h.registered();
    c.frame(d.message({ n: 1 }));
    h.commit();
    store.failSeqs.add(2);
    c.frame(d.message({ n: 2 }));
    c.frame(d.message({ n: 3 }));
    h.commit();
    h.commit(); // the gap row written by the settle
    expect(acks(c)).toEqual([1, 3]);
    expect(store.seqGaps(d.appId).map((g) => [g.from_seq, g.to_seq])).toEqual([[2, 2]]);
    store.failSeqs.clear();
    c.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    expect(acks(c)).toEqual([1, 3, 2]);
    expect(store.messages(d.appId).map((m) => m.seq).sort()).toEqual([1, 2, 3]);
    expect(store.seqGaps(d.appId)).toEqual([]);
  });

  it('a refused Result leaves the app running and bound: its re-send finishes it', () => {
    const { store, h, c, d } = fullAfterFirstStatus();
    c.frame(d.message({ done: true }, 'Result'));
    h.commit();
    expect(h.hub.liveApp(d.appId)?.status).toBe('running');
    expect(c.closed).toBeUndefined();
    store.full = false;
    c.frame(d.message({ done: true }, 'Result', 2));
    h.commit();
    expect(acks(c)).toEqual([1, 2]);
    expect(store.getApp(d.appId)?.status).toBe('done');
  });

  it('storage errors do not count toward the refusal limit (4002)', () => {
    const store = new FullDiskStore();
    const h = makeHarness({ maxErrors: 5, rate: 10_000, burst: 10_000 }, store);
    const { c, d } = h.registered();
    store.full = true;
    for (let i = 0; i < 20; i++) {
      c.frame(d.message({ i }, 'Status', 1));
      h.commit();
    }
    expect(codes(c).filter((x) => x === 'storage_unavailable')).toHaveLength(20);
    expect(c.closed).toBeUndefined();
    expect(h.committer.failing).toBe(true);
    store.full = false;
    c.frame(d.message({ i: 0 }, 'Status', 1));
    h.commit();
    expect(acks(c)).toEqual([1]);
    expect(h.committer.failing).toBe(false);
  });

  it('a socket whose registration was not stored is closed by the registration timeout', () => {
    const store = new FullDiskStore();
    const h = makeHarness({ registrationTimeoutMs: 1000 }, store);
    const c = h.connect();
    h.clock.advance(900);
    store.full = true;
    c.frame(new Device().register());
    h.commit();
    expect(codes(c)).toEqual(['storage_unavailable']);
    h.clock.advance(900); // past the first timer: the refusal armed a new one
    expect(c.closed).toBeUndefined();
    h.clock.advance(200);
    expect(c.closed?.code).toBe(CloseCode.registrationTimeout);
  });

  it('below the disk reserve new data is refused, duplicates are still acked, registrations still stored', () => {
    const space = { low: false };
    const h = makeHarness();
    (h.hub.deps as { space?: { low: boolean } }).space = space;
    const { c, d } = h.registered();
    c.frame(d.message({ n: 1 }));
    h.commit();
    space.low = true;
    c.frame(d.message({ n: 2 }));
    c.frame(d.message({ n: 1 }, 'Status', 1));
    h.commit();
    expect(codes(c)).toEqual(['storage_unavailable']);
    expect(c.ofType('ack').map((a) => [a.seq, a.duplicate ?? false])).toEqual([[1, false], [1, true]]);
    const other = h.registered();
    expect(other.c.ofType('registered')).toHaveLength(1);
    space.low = false;
    c.frame(d.message({ n: 2 }, 'Status', 2));
    h.commit();
    expect(h.store.maxSeq(d.appId)).toBe(2);
  });
});

describe('apps.last_seq', () => {
  it('is the last stored seq once the connection drops, without waiting for the periodic sync', () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    for (let i = 0; i < 50; i++) c.frame(d.message({ i }));
    h.commit();
    c.drop();
    h.commit();
    expect(h.store.getApp(d.appId)?.status).toBe('crashed');
    expect(h.store.getApp(d.appId)?.last_seq).toBe(50);
  });

  it('counts frames still being committed when the socket closed', () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    for (let i = 0; i < 7; i++) c.frame(d.message({ i }));
    c.drop();
    h.commit();
    h.commit();
    expect(h.store.getApp(d.appId)?.last_seq).toBe(7);
  });

  it('is right after a disconnect', () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    for (let i = 0; i < 3; i++) c.frame(d.message({ i }));
    h.commit();
    c.frame(d.disconnect());
    h.commit();
    h.commit();
    expect(h.store.getApp(d.appId)?.last_seq).toBe(3);
  });
});
