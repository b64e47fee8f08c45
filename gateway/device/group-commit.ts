/**
 * Group commit: writes queued during one turn of the event loop are committed
 * in one transaction, and one fsync covers many such transactions. Each
 * write's callback (typically: send the ack) runs only once the store says
 * the commit is on disk, so an ack never leaves before its row is durable. A
 * write that fails alone (a constraint) is reported to its own callback; the
 * rest of the batch commits.
 */
import type { Clock, Timer } from '../ports/clock.js';
import type { GatewayStore, StoreWriter } from '../store/types.js';

export type WriteOp = (w: StoreWriter) => void;
export type Committed = (err?: Error) => void;

/**
 * Spacing of bulk writes (data frames) under load: a commit of them begins at
 * least `intervalMs` after the previous commit began, if that one held
 * `fromWrites` writes or more. Each commit and its fsync cost the same
 * whatever they carry, so under load fewer, larger commits leave more CPU to
 * the frames. In the signed ingest bench (about 10k acks/s, so a commit of
 * 20 ms holds some 200 rows of as many apps) 20 ms gave 7 % more acks/s than
 * 10 ms, and 40 ms 7 % more than 20 ms (10.8k against 10.1k; the main thread
 * 32 against 37 µs per ack; 9 and 5 runs, alternating). The open tier fills
 * its commits to the 1,024-write cap first and was unchanged; 40 ms adds at
 * most that much to an ack under load. A quiet gateway commits at once, and any
 * other write (a registration, a control, a REST change) is committed at the
 * end of its turn, taking the waiting ones along.
 */
export interface CommitPacing {
  intervalMs: number;
  fromWrites: number;
  clock: Clock;
}

export interface GroupCommitStats {
  commits: number;
  writes: number;
  maxBatch: number;
  /** Writes refused because their commit failed (disk full, I/O), over the committer's life. */
  refused: number;
}

/** The end of a run of failed commits (a storage outage), for one summary line in the log. */
export interface OutageSummary {
  refused: number;
  durationMs: number;
  first: Error;
}

export class GroupCommitter {
  private ops: WriteOp[] = [];
  private callbacks: Committed[] = [];
  private scheduled = false;
  /** The pacing timer, while the next commit waits for it. */
  private paced?: Timer;
  /** When the last commit began and how many writes it held (for pacing). */
  private last = { at: 0, writes: 0 };
  readonly stats: GroupCommitStats = { commits: 0, writes: 0, maxBatch: 0, refused: 0 };
  /** The storage outage under way: from the first failed commit to the next one that succeeds. */
  private outage?: { since: number; refused: number; first: Error };
  /** While a batch's callbacks run: work to do once all of them have (see afterAnswers). */
  private settling?: Array<() => void>;

  /**
   * `onFatal` hears of the first failed commit of an outage only (one log
   * line, not one per commit); `onRecovered` of its end, with what it cost.
   */
  constructor(
    private readonly store: GatewayStore,
    private readonly maxBatch = 4096,
    private readonly onFatal: (err: Error) => void = () => {},
    private readonly pacing?: CommitPacing,
    private readonly onRecovered: (s: OutageSummary) => void = () => {},
    /** A write's callback threw (a defect of its caller): reported, and the other callbacks still run. */
    private readonly onCallbackError: (err: unknown) => void = () => {},
  ) {}

  /** True from a failed commit until one succeeds. */
  get failing(): boolean {
    return this.outage !== undefined;
  }

  /**
   * Runs `fn` once the callbacks of the batch now being answered have all
   * run (at once when none is): a caller that must judge a batch's failures
   * together, not one write at a time, looks at them here.
   */
  afterAnswers(fn: () => void): void {
    if (this.settling) this.settling.push(fn);
    else fn();
  }

  /** `bulk`: a data frame's write, which may wait for the pacing (CommitPacing). */
  enqueue(op: WriteOp, done: Committed = noop, bulk = false): void {
    // Acks of commits flushed since the last frame go out now, mid-turn.
    this.store.pollDurable();
    this.ops.push(op);
    this.callbacks.push(done);
    if (this.ops.length >= this.maxBatch) return this.flush();
    const wait = bulk ? this.paceWait() : 0;
    if (this.scheduled) {
      // Already due at the end of the turn, or this write may wait as long as the rest.
      if (!this.paced || wait > 0) return;
      this.paced.cancel();
      this.paced = undefined;
    }
    this.scheduled = true;
    if (wait > 0) this.paced = this.pacing!.clock.after(wait, this.flushWhenIdle);
    else setImmediate(this.flushWhenIdle);
  }

  /** After the flush in flight, if any: a commit made during it could only join the next flush. */
  private readonly flushWhenIdle = (): void => this.store.whenFlushIdle(() => this.flush());

  private paceWait(): number {
    const p = this.pacing;
    if (!p || this.last.writes < p.fromWrites) return 0;
    return this.last.at + p.intervalMs - p.clock.now();
  }

  /** Writes now whatever is queued. Safe to call at any time, e.g. before shutdown. */
  flush(): void {
    this.scheduled = false;
    this.paced?.cancel();
    this.paced = undefined;
    if (this.ops.length === 0) return;
    const ops = this.ops;
    const callbacks = this.callbacks;
    this.ops = [];
    this.callbacks = [];
    if (this.pacing) this.last = { at: this.pacing.clock.now(), writes: ops.length };
    let results: Array<Error | undefined>;
    try {
      results = this.commit(ops);
      this.recovered();
    } catch (e) {
      // The whole transaction failed (disk full, I/O error): nothing was
      // written, so nothing is acked; each caller answers with an error.
      const err = e instanceof Error ? e : new Error(String(e));
      this.failed(err, ops.length);
      results = ops.map(() => err);
    }
    this.stats.commits += 1;
    this.stats.writes += ops.length;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, ops.length);
    this.release(callbacks, results);
  }

  /**
   * Callbacks run once the commit is on disk, in the order of their writes
   * (the store's flushes finish in commit order, so acks keep their order).
   * A write that failed waits with the rest, to keep that order; a batch with
   * nothing written has nothing to wait for.
   */
  private release(callbacks: Committed[], results: Array<Error | undefined>): void {
    const answer = (flushErr?: Error): void => {
      const outer = this.settling === undefined;
      if (outer) this.settling = [];
      try {
        for (let i = 0; i < callbacks.length; i++) {
          try {
            callbacks[i]!(results[i] ?? flushErr);
          } catch (e) {
            // One caller's failure must not cost the others their acks.
            this.onCallbackError(e);
          }
        }
      } finally {
        if (outer) this.settle();
      }
    };
    if (results.every((r) => r !== undefined)) answer();
    else this.store.whenDurable(answer);
  }

  private settle(): void {
    const fns = this.settling ?? [];
    this.settling = undefined;
    for (const fn of fns) fn();
  }

  private failed(err: Error, writes: number): void {
    this.stats.refused += writes;
    if (this.outage) {
      this.outage.refused += writes;
      return;
    }
    this.outage = { since: this.now(), refused: writes, first: err };
    this.onFatal(err);
  }

  private recovered(): void {
    const o = this.outage;
    if (!o) return;
    this.outage = undefined;
    this.onRecovered({ refused: o.refused, durationMs: this.now() - o.since, first: o.first });
  }

  private now(): number {
    return this.pacing ? this.pacing.clock.now() : Date.now();
  }

  /**
   * The fast path runs every op in one plain transaction. Ops rarely fail (the
   * hub checks seqs and states before it enqueues), so the per-op savepoints
   * that isolate a failure are paid only when one does: then the transaction
   * is rolled back whole and the batch run again with savepoints.
   */
  private commit(ops: WriteOp[]): Array<Error | undefined> {
    try {
      this.store.transaction((w) => {
        for (const op of ops) op(w);
      }, DEFER);
      return ops.map(() => undefined);
    } catch {
      return this.store.batch(ops, DEFER);
    }
  }

  get pending(): number {
    return this.ops.length;
  }
}

function noop(): void {}

/** Commit now, flush later: `release` waits for the flush, the event loop does not. */
const DEFER = { deferSync: true } as const;
