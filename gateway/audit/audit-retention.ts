/**
 * Audit retention: rows older than `maxAgeMs`, and rows beyond the newest
 * `maxRows`, are deleted in periodic sweeps. A sweep deletes in batches of
 * `batch` rows, one group-commit write each, and starts the next batch only
 * when the previous one committed (on a later turn of the event loop), so a
 * backlog of a million rows never becomes one long DELETE that stalls the
 * devices.
 */
import type { Clock, Timer } from '../ports/clock.js';
import { iso } from '../ports/clock.js';
import type { Committed, WriteOp } from '../device/group-commit.js';

export interface AuditRetentionOptions {
  maxAgeMs: number;
  maxRows: number;
  /** Time between sweeps. */
  everyMs: number;
  /** Rows deleted by one write at most. */
  batch: number;
}

export const DEFAULT_AUDIT_RETENTION: AuditRetentionOptions = {
  maxAgeMs: 90 * 86_400_000,
  maxRows: 100_000,
  everyMs: 60_000,
  batch: 1000,
};

export class AuditRetention {
  private timer?: Timer;
  private next?: Timer;
  private sweeping = false;
  private stopped = false;
  /** Rows deleted since start (for tests and logs). */
  deleted = 0;

  constructor(
    private readonly clock: Clock,
    /** The committer's enqueue: each batch is one write among the others. */
    private readonly enqueue: (op: WriteOp, done: Committed) => void,
    private readonly opts: AuditRetentionOptions = DEFAULT_AUDIT_RETENTION,
  ) {}

  start(): void {
    this.timer = this.clock.every(this.opts.everyMs, () => this.sweep());
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.next?.cancel();
  }

  get isSweeping(): boolean {
    return this.sweeping;
  }

  /** Starts a sweep unless one is running. */
  sweep(): void {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    this.batch();
  }

  private batch(): void {
    const { batch, maxRows, maxAgeMs } = this.opts;
    const olderThan = iso(this.clock.now() - maxAgeMs);
    let gone = 0;
    this.enqueue(
      (w) => void (gone = w.pruneAudit({ olderThan, keepRows: maxRows, limit: batch })),
      (err) => {
        if (!err) this.deleted += gone;
        // A full batch means more may be due: go on after the event loop turned.
        if (!err && gone === batch && !this.stopped) this.next = this.clock.after(0, () => this.batch());
        else this.sweeping = false;
      },
    );
  }
}
