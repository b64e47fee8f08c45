import { beforeEach, describe, expect, it } from 'vitest';
import { SnapshotPruner, type PruneState } from '../../gateway/device/snapshot-pruner.js';
import type { Committed, WriteOp } from '../../gateway/device/group-commit.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { app, msg, uuid } from '../store/fixtures.js';

/** A live app as the data handler keeps it, storing each Status straight into a memory store. */
class Device implements PruneState {
  highSeq = 0;
  prunedTo = 0;
  constructor(readonly appId: string, private readonly site: Site) {}

  send(n: number, type: 'Status' | 'Result' = 'Status'): void {
    for (let i = 0; i < n; i++) this.at(this.highSeq + 1, type);
  }

  at(seq: number, type: 'Status' | 'Result' = 'Status'): void {
    this.highSeq = Math.max(this.highSeq, seq);
    this.site.store.transaction((w) => w.insertMessage(msg(this.appId, seq, { msg_type: type })));
    if (type === 'Status') this.site.pruner.stored(this, seq);
  }

  seqs(): number[] {
    return this.site.store.messages(this.appId, { limit: 10_000 }).map((m) => m.seq).sort((a, b) => a - b);
  }
}

class Site {
  readonly store = new MemoryStore();
  sweeps = 0;
  fail = false;
  readonly pruner: SnapshotPruner;

  constructor(keep: number, sweepRows: number) {
    this.pruner = new SnapshotPruner(keep, (op, done) => this.commit(op, done), sweepRows);
  }

  device(n: number): Device {
    this.store.transaction((w) => w.insertApp(app(uuid(n))));
    return new Device(uuid(n), this);
  }

  private commit(op: WriteOp, done: Committed): void {
    this.sweeps += 1;
    if (this.fail) return done(new Error('disk I/O error'));
    this.store.transaction(op);
    done();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SnapshotPruner', () => {
  let site: Site;
  beforeEach(() => void (site = new Site(3, 1000)));

  it('keeps one app between N and 2N snapshots, pruning at 2N', () => {
    const d = site.device(1);
    d.send(5);
    expect(d.seqs()).toEqual(range(1, 5));
    expect(site.sweeps).toBe(0);
    d.send(1); // 6 = 2·3 rows: down to the last 3 seqs
    expect(d.seqs()).toEqual([4, 5, 6]);
    d.send(2);
    expect(d.seqs()).toEqual(range(4, 8));
    d.send(1);
    expect(d.seqs()).toEqual([7, 8, 9]);
    expect(site.sweeps).toBe(2);
  });

  it('sweeps every app at once after sweepRows Status rows, each down to its last N seqs', () => {
    site = new Site(3, 8);
    const [a, b] = [site.device(1), site.device(2)];
    a.send(4);
    b.send(3);
    expect(site.sweeps).toBe(0);
    a.send(1); // the 8th row: one sweep; b has nothing beyond its last 3 seqs
    expect(site.sweeps).toBe(1);
    expect(a.seqs()).toEqual([3, 4, 5]);
    expect(b.seqs()).toEqual([1, 2, 3]);
  });

  it('never prunes Result rows or the latest snapshot, and does not sweep when nothing is due', () => {
    site = new Site(1, 2);
    const d = site.device(1);
    d.send(1);
    d.send(1); // sweep: seq 1 goes
    d.send(1, 'Result');
    d.send(1); // the 2-row trigger cannot fire on a Result; this Status sweeps seq 2
    expect(d.seqs()).toEqual([3, 4]);
    const sweeps = site.sweeps;
    site.pruner.sweep();
    expect(site.sweeps).toBe(sweeps);
  });

  it('prunes a late gap fill that lands below the pruned range', () => {
    const d = site.device(1);
    for (const s of [1, 2, 5, 6]) d.at(s); // 3 and 4 are missing; at 6 (= 2·3) the sweep prunes up to 3
    expect(d.seqs()).toEqual([5, 6]);
    expect(d.prunedTo).toBe(3);
    for (const s of [7, 8, 9]) d.at(s); // 9 − 3 = 2·3: pruned up to 6
    expect(d.seqs()).toEqual([7, 8, 9]);
    expect(d.prunedTo).toBe(6);
    d.at(3); // reopens the range down to 2: the sweep it triggers takes 3 as well
    expect(d.seqs()).toEqual([7, 8, 9]);
    expect(d.prunedTo).toBe(6);
  });

  it('retries after a failed commit', () => {
    const d = site.device(1);
    site.fail = true;
    d.send(6);
    expect(d.seqs()).toEqual(range(1, 6));
    expect(d.prunedTo).toBe(0);
    site.fail = false;
    d.send(1);
    expect(d.seqs()).toEqual([5, 6, 7]);
  });

  it('refuses a retention below 1', () => {
    expect(() => new SnapshotPruner(0, () => {})).toThrow(/at least 1/);
    expect(() => new SnapshotPruner(Number.NaN, () => {})).toThrow(/at least 1/);
  });
});
