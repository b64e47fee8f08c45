/**
 * The WAL's fdatasync on a thread of its own, with its completion published
 * in shared memory. libuv's thread pool would do the flush as well, but its
 * answer is only seen when the event loop next polls, and under load one turn
 * of the loop reads every device's socket: the acks of the first frames of a
 * turn would wait for the last frames to be parsed. Here the committer looks
 * at the shared counter as it goes (`poll`, an atomic load per frame) and
 * acks go out in the middle of a turn; a message from the worker wakes an idle
 * loop. The worker is plain JavaScript (eval), so it runs the same from the
 * TypeScript sources and from dist/.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WalFile, type FileSync } from './wal-sync.js';

// Slots of the shared Int32Array.
const REQUESTED = 0; // flush generation asked for
const DONE = 1; // flush generation finished
const ERRNO = 2; // 0, or the errno of the last failed flush
const STOP = 3; // 1 = exit
const STOPPED = 4; // 1 = the thread let go of its connection
const FD = 5; // the WAL descriptor to flush (WalFile's, on the main thread)

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { state, dbPath, sqlitePath, checkpointMs, restartFrames, restartBytes } = workerData;
let seen = 0, db = null, lastCheckpoint = Date.now();
// Checkpoints run here too, beside the flushes: on the event loop's thread
// SQLite's auto-checkpoint stopped everything for two fsyncs and the copy.
// PASSIVE never blocks the writer; but under steady writes it may never catch
// up with the WAL's end, and only a fully checkpointed WAL is reused from its
// start, so past restartFrames one RESTART waits for a gap between commits.
// A WAL file already past restartBytes does not wait for the next second: its
// RESTART is tried after every flush until one succeeds (a busy reader can
// make one fail), which keeps the file under its bound (the writer truncates
// it at the reset: journal_size_limit, sqlite-store.ts).
function walBytes() {
  try { return fs.statSync(dbPath + '-wal').size; } catch { return 0; }
}
function checkpoint() {
  if (!sqlitePath) return;
  const urgent = restartBytes > 0 && walBytes() > restartBytes;
  if (!urgent && Date.now() - lastCheckpoint < checkpointMs) return;
  lastCheckpoint = Date.now();
  try {
    if (!db) { db = new (require(sqlitePath))(dbPath, { fileMustExist: true }); db.pragma('busy_timeout = 1000'); }
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (urgent || r.log > restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch { /* busy or gone: the next round tries again */ }
}
function flush() {
  if (Atomics.load(state, ${STOP}) === 1) {
    try { if (db) db.close(); } finally {
      Atomics.store(state, ${STOPPED}, 1);
      Atomics.notify(state, ${STOPPED});
      parentPort.close();
    }
    return;
  }
  const gen = Atomics.load(state, ${REQUESTED});
  if (gen !== seen) {
    let errno = 0, message;
    try { fs.fdatasyncSync(Atomics.load(state, ${FD})); }
    catch (e) { errno = Math.abs(e.errno || 5); message = e.message; }
    Atomics.store(state, ${ERRNO}, errno);
    Atomics.store(state, ${DONE}, gen);
    seen = gen;
    parentPort.postMessage({ gen, message });
    checkpoint();
  }
  // An asynchronous wait leaves this thread's event loop free, so the thread
  // stops like any other when the process ends.
  const w = Atomics.waitAsync(state, ${REQUESTED}, seen);
  if (w.async) w.value.then(flush); else setImmediate(flush);
}
// A pending waitAsync holds no handle: the open port keeps this thread alive.
parentPort.on('message', () => {});
flush();
`;

interface Pending {
  gen: number;
  done: (err?: Error) => void;
}

export class WorkerFileSync implements FileSync {
  private readonly state = new Int32Array(new SharedArrayBuffer(6 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  /** The WAL descriptor, owned here; the thread only flushes it. */
  private readonly wal: WalFile;
  private gen = 0;
  private pending?: Pending;
  private lastMessage?: string;
  private dead?: Error;

  /** `checkpoint`: take over SQLite's auto-checkpoint (the caller turned it off on its connection). */
  constructor(dbPath: string, checkpoint?: { everyMs: number; restartFrames: number; restartBytes?: number }) {
    this.wal = new WalFile(dbPath);
    const workerData = {
      state: this.state,
      dbPath,
      sqlitePath: checkpoint ? createRequire(import.meta.url).resolve('better-sqlite3') : undefined,
      checkpointMs: checkpoint?.everyMs ?? 0,
      restartFrames: checkpoint?.restartFrames ?? 0,
      restartBytes: checkpoint?.restartBytes ?? 0,
    };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.on('message', (m: { message?: string }) => {
      this.lastMessage = m.message;
      this.poll();
    });
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', () => this.die(new Error('the WAL flush thread exited')));
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  sync(done: (err?: Error) => void): void {
    if (this.dead) return done(this.dead);
    let fd: number;
    try {
      fd = this.wal.descriptor();
    } catch (e) {
      return done(e instanceof Error ? e : new Error(String(e)));
    }
    if (fd < 0) return done(); // no WAL yet: nothing was written
    Atomics.store(this.state, FD, fd);
    this.gen += 1;
    this.pending = { gen: this.gen, done };
    Atomics.store(this.state, REQUESTED, this.gen);
    Atomics.notify(this.state, REQUESTED);
  }

  poll(): void {
    const p = this.pending;
    if (!p || Atomics.load(this.state, DONE) < p.gen) return;
    this.pending = undefined;
    const errno = Atomics.load(this.state, ERRNO);
    p.done(errno === 0 ? undefined : new Error(`fdatasync of the WAL failed: ${this.lastMessage ?? `errno ${errno}`}`));
  }

  syncNow(): void {
    this.wal.syncNow();
  }

  /**
   * Stops the thread. A flush still in flight is answered at once: the
   * pipeline flushed on this thread just before (SyncPipeline.close).
   */
  close(): void {
    const p = this.pending;
    this.pending = undefined;
    p?.done();
    Atomics.store(this.state, STOP, 1);
    Atomics.add(this.state, REQUESTED, 1);
    Atomics.notify(this.state, REQUESTED);
    // Wait (briefly) for the thread to close its connection: the store's own
    // connection must be the last, so that closing it checkpoints and removes
    // the WAL now, not after the caller has moved on (or removed the directory).
    if (!this.dead) Atomics.wait(this.state, STOPPED, 0, 2000);
    this.wal.close();
  }

  private die(err: Error): void {
    if (Atomics.load(this.state, STOP) === 1) return;
    this.dead = err;
    const p = this.pending;
    this.pending = undefined;
    p?.done(err);
  }
}
