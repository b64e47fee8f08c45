/**
 * Pipelined durability for a WAL database (ARCHITECTURE "Durability").
 *
 * With `synchronous = FULL`, SQLite fsyncs the WAL inside every COMMIT, on
 * the thread that commits: the event loop stood still for each fsync. Here
 * the connection runs at `synchronous = NORMAL` (a COMMIT only writes the WAL)
 * and the WAL file is fdatasync'ed on a thread of its own instead
 * (wal-sync-worker.ts). A commit
 * is durable once an fdatasync that *started* after it has finished, exactly
 * the state FULL would have reached inside COMMIT: fsync acts on the file, not
 * on the descriptor, so our descriptor flushes what SQLite's wrote. While one
 * fdatasync runs, further commits gather for the next one.
 */
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync, constants } from 'node:fs';
import { dirname } from 'node:path';

export type Durable = (err?: Error) => void;

/** Flushes one file to disk; `SyncPipeline` decides when. */
export interface FileSync {
  sync(done: (err?: Error) => void): void;
  syncNow(): void;
  /** Lets go of the file; a flush in flight is still answered. */
  close(): void;
  /** Runs the callback of a finished flush now, if the file can tell without the event loop. */
  poll?(): void;
}

/** Batches durability requests so that one flush in flight covers every commit made before it started. */
export class SyncPipeline {
  private waiting: Durable[] = [];
  private idle: Array<() => void> = [];
  private inFlight = false;
  private closed = false;

  constructor(private readonly file: FileSync, private readonly onFatal: (err: Error) => void = () => {}) {}

  /** `done` runs once everything committed before this call is on disk. */
  whenDurable(done: Durable): void {
    if (this.closed) return done(new Error('the store is closed'));
    this.waiting.push(done);
    if (!this.inFlight) this.start();
  }

  get busy(): boolean {
    return this.inFlight;
  }

  /** `fn` runs when no flush is in flight: now, or as soon as the current one has answered. */
  whenIdle(fn: () => void): void {
    if (!this.inFlight || this.closed) return fn();
    this.idle.push(fn);
  }

  /** Delivers a finished flush without waiting for the event loop to come round (see WorkerFileSync). */
  poll(): void {
    if (this.inFlight) this.file.poll?.();
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    this.file.sync((err) => {
      this.inFlight = false;
      // After a failed fsync the kernel may have dropped the dirty pages:
      // nothing in this batch may be acknowledged, and the store is not to be
      // trusted any more (the composition root stops the gateway).
      if (err) this.onFatal(err);
      for (const done of batch) done(err);
      const idle = this.idle;
      this.idle = [];
      for (const fn of idle) fn();
      if (!this.inFlight && this.waiting.length > 0 && !this.closed) this.start();
    });
  }

  /** Flushes everything now, answers every waiting callback, and lets go of the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let err: Error | undefined;
    try {
      this.file.syncNow();
    } catch (e) {
      err = asError(e);
    }
    this.file.close();
    const waiting = this.waiting;
    this.waiting = [];
    for (const done of waiting) done(err);
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }
}

/**
 * The WAL file of `dbPath`: one descriptor, opened on first use (SQLite
 * creates the WAL with the first write) and reopened if SQLite ever replaced
 * the file (it deletes the WAL only when the last connection closes, but a
 * stale descriptor would flush a file nobody reads). The flush thread
 * fdatasyncs this same descriptor: descriptors belong to the process.
 */
export class WalFile {
  private fd = -1;
  private ino = -1;
  private readonly walPath: string;

  constructor(dbPath: string) {
    this.walPath = `${dbPath}-wal`;
  }

  /** The descriptor of the current WAL file; -1 when there is none (nothing was ever written). */
  descriptor(): number {
    let ino: number;
    try {
      ino = statSync(this.walPath).ino;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      throw e;
    }
    if (this.fd >= 0 && ino === this.ino) return this.fd;
    this.close();
    this.fd = openSync(this.walPath, constants.O_RDWR);
    this.ino = fstatSync(this.fd).ino;
    // A new WAL file's directory entry must be durable too, once.
    syncDirectory(dirname(this.walPath));
    return this.fd;
  }

  /** fdatasync on this thread. */
  syncNow(): void {
    const fd = this.descriptor();
    if (fd >= 0) fdatasyncSync(fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
