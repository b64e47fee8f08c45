import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../gateway/device/group-commit.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { app, msg, uuid } from '../store/fixtures.js';

const A = uuid(1);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function site(maxBatch = 4096) {
  const store = new MemoryStore();
  store.transaction((w) => w.insertApp(app(A)));
  const clock = new ManualClock();
  const committer = new GroupCommitter(store, maxBatch, () => {}, { intervalMs: 20, fromWrites: 4, clock });
  let seq = 0;
  const acked: number[] = [];
  const send = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const s = ++seq;
      committer.enqueue((w) => w.insertMessage(msg(A, s)), (err) => void (err ? undefined : acked.push(s)), true);
    }
  };
  return { store, clock, committer, send, acked };
}

describe('GroupCommitter pacing', () => {
  it('commits small batches at the end of the turn, without waiting', async () => {
    const s = site();
    s.send(3);
    await turn();
    expect(s.acked).toEqual([1, 2, 3]);
    s.send(2);
    await turn();
    expect(s.acked).toEqual([1, 2, 3, 4, 5]);
    expect(s.committer.stats.commits).toBe(2);
  });

  it('after a commit of fromWrites or more, waits until intervalMs after it began', async () => {
    const s = site();
    s.send(4);
    await turn();
    expect(s.acked).toHaveLength(4);
    s.clock.advance(5);
    s.send(2);
    await turn();
    expect(s.acked).toHaveLength(4); // 5 ms after a busy commit: waiting
    s.send(3);
    s.clock.advance(14);
    await turn();
    expect(s.acked).toHaveLength(4);
    s.clock.advance(1); // 20 ms after the last commit began: one commit with all five
    expect(s.acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.committer.stats.commits).toBe(2);
    // That commit held 5: the next one is paced too; a later one past the interval is not.
    s.clock.advance(30);
    s.send(1);
    await turn();
    expect(s.acked).toHaveLength(10);
  });

  it('commits at the end of the turn when a write that is not bulk joins the waiting ones', async () => {
    const s = site();
    s.send(4);
    await turn();
    s.send(2);
    await turn();
    expect(s.acked).toHaveLength(4);
    let registered = false;
    s.committer.enqueue((w) => w.insertApp(app(uuid(2))), () => void (registered = true));
    await turn();
    expect(registered).toBe(true);
    expect(s.acked).toHaveLength(6);
    // The pacing timer of the bulk writes was cancelled: nothing commits twice.
    s.clock.advance(100);
    expect(s.committer.stats.commits).toBe(2);
  });

  it('still commits at once when maxBatch writes are queued', async () => {
    const s = site(6);
    s.send(4);
    await turn();
    s.send(6);
    expect(s.acked).toHaveLength(10);
    expect(s.store.messages(A, { limit: 100 })).toHaveLength(10);
  });
});

describe('GroupCommitter storage outages', () => {
  it('reports an outage once when it begins and once when it ends, with the refused writes and its duration', () => {
    const store = new MemoryStore();
    store.transaction((w) => w.insertApp(app(A)));
    let full = false;
    const real = store.transaction.bind(store);
    store.transaction = ((fn, opts) => {
      if (full) throw new Error('database or disk is full');
      return real(fn, opts);
    }) as typeof store.transaction;
    store.batch = () => {
      throw new Error('database or disk is full');
    };
    const clock = new ManualClock(1000);
    const begun: string[] = [];
    const ended: Array<{ refused: number; durationMs: number }> = [];
    const committer = new GroupCommitter(store, 4096, (e) => begun.push(e.message), { intervalMs: 0, fromWrites: 1_000_000, clock }, (o) => ended.push({ refused: o.refused, durationMs: o.durationMs }));
    full = true;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) committer.enqueue((w) => w.insertMessage(msg(A, round * 3 + i + 1)));
      committer.flush();
      clock.advance(1000);
    }
    expect(begun).toEqual(['database or disk is full']);
    expect(committer.failing).toBe(true);
    expect(committer.stats.refused).toBe(15);
    full = false;
    committer.enqueue((w) => w.insertMessage(msg(A, 1)));
    committer.flush();
    expect(ended).toEqual([{ refused: 15, durationMs: 5000 }]);
    expect(committer.failing).toBe(false);
  });

  it('afterAnswers runs once every callback of the failed batch has run', () => {
    const store = new MemoryStore();
    store.transaction = (() => {
      throw new Error('disk I/O error');
    }) as typeof store.transaction;
    store.batch = () => {
      throw new Error('disk I/O error');
    };
    const committer = new GroupCommitter(store);
    const seen: string[] = [];
    committer.enqueue(() => {}, () => {
      seen.push('a');
      committer.afterAnswers(() => seen.push('after'));
    });
    committer.enqueue(() => {}, () => seen.push('b'));
    committer.flush();
    committer.afterAnswers(() => seen.push('now'));
    expect(seen).toEqual(['a', 'b', 'after', 'now']);
  });
});
