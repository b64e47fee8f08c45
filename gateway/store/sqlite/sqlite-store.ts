/**
 * The product store: one better-sqlite3 connection in WAL mode. Reads are
 * synchronous; writes go through `transaction`/`batch`. A commit is made
 * durable either inside COMMIT (synchronous=FULL, `fsync: 'inline'`) or by an
 * fdatasync of the WAL off the event loop (`fsync: 'pipelined'`, the default:
 * see wal-sync.ts), which is the fsync an ack waits for.
 */
import Database from 'better-sqlite3';
import type {
  AppFilter,
  AppRow,
  AuditRow,
  CommitOptions,
  ControlRow,
  CrashRow,
  GatewayStore,
  MessageFilter,
  MessageRow,
  SeqGapRow,
  SnapshotRow,
  StoreWriter,
} from '../types.js';
import { checkSchemaVersion, migrate } from './migrations.js';
import { chmodSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import {
  appFromRow,
  auditFromRow,
  BY_APP,
  controlFromRow,
  crashFromRow,
  gapFromRow,
  isOverdue,
  limitOf,
  messageFromRow,
  snapshotFromRow,
} from './rows.js';
import { SqliteWriter } from './sqlite-writer.js';
import { SyncPipeline, type FileSync } from './wal-sync.js';
import { WorkerFileSync } from './wal-sync-worker.js';
import { SqliteBootstrapReader } from './bootstrap-sql.js';
import type { BootstrapDeviceRow, BootstrapFilter, BootstrapStatus, ClaimIntentRow } from '../bootstrap-types.js';

type Stmt = Database.Statement;
type Raw = Record<string, unknown>;

export interface SqliteStoreOptions {
  /** Open an existing, already migrated file for reading only (no migrations, no WAL switch). */
  readonly?: boolean;
  /** Where the fsync of a commit happens (default 'pipelined'). */
  fsync?: 'inline' | 'pipelined';
  /** A failed fsync: the store can no longer promise durability. */
  onFatal?: (err: Error) => void;
}

/**
 * A checkpoint copies each page once however often the WAL holds it, and the
 * flush that follows it waits: a checkpoint a second (instead of every 250 ms)
 * copied fewer pages and gave 6 % more acks/s in the ingest bench (3 runs
 * each, 50.9k against 48.1k). Past 64 MiB of WAL, one RESTART waits for a gap.
 */
const CHECKPOINT = { everyMs: 1000, restartFrames: 8192, restartBytes: 32 << 20 };

/**
 * The WAL file keeps the size it once reached, even after a checkpoint lets
 * SQLite write it from its start again; at that reset SQLite truncates it to
 * this. With a RESTART from 32 MiB on (wal-sync-worker.ts), the file stays
 * under the 64 MiB that docs/ARCHITECTURE.md promises.
 */
const JOURNAL_SIZE_LIMIT = 16 << 20;

/** Opened for writing, SQLite fell back to reading only: the file or its directory is not writable. */
export class StoreReadOnlyError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} can only be opened for reading`);
    this.name = 'StoreReadOnlyError';
  }
}

// payload_bytes is left out on purpose: it is unused and would only cost a copy.
const MSG_COLS = 'id, app_id, direction, msg_type, seq, correlation_id, payload_json, created_at';

/**
 * A WHERE clause from the conditions whose value is given. The clause text
 * depends only on which filters are set, so the statement cache holds a few
 * variants, each an exact query the planner can use an index for.
 */
function where(conds: Array<[string, unknown]>): [string, unknown[]] {
  const set = conds.filter(([, v]) => v !== undefined);
  return [set.length ? `WHERE ${set.map(([c]) => c).join(' AND ')}` : '', set.map(([, v]) => v)];
}

/** An existing data directory of 0755 must not expose the messages: its files become 0600. */
function privateFiles(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(p, 0o600);
    } catch (e) {
      // Missing, or not ours to change (another owner): the open itself decides.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw e;
    }
  }
}

export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, opts);
}

export class SqliteStore implements GatewayStore {
  /** Exposed for diagnostics and tests (pragmas, reference SQL); the store owns it. */
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Stmt>();
  private readonly writer: SqliteWriter;
  private readonly boot: SqliteBootstrapReader;
  private readonly getAppStmt: Stmt;
  private readonly bySeqStmt: Stmt;
  private readonly runTx: Database.Transaction<(fn: (w: StoreWriter) => unknown) => unknown>;
  private readonly runBatch: Database.Transaction<(ops: ReadonlyArray<(w: StoreWriter) => void>) => Array<Error | undefined>>;
  /** Present when commits are made durable off the event loop. */
  private readonly wal?: { file: FileSync; pipeline: SyncPipeline };

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    const readonly = opts.readonly === true;
    const onDisk = path !== ':memory:' && path !== '';
    // trails.db, -wal and -shm hold every message: private from their creation
    // (SQLite gives -wal and -shm the mode of the database file).
    const umask = onDisk && !readonly && isMainThread ? process.umask(0o077) : undefined;
    try {
      this.db = new Database(path, { readonly, fileMustExist: readonly });
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
    try {
      // Checked before anything is written: a read-only fallback would still
      // create -wal and -shm, and a newer schema is not ours to touch.
      if (!readonly && this.db.readonly) throw new StoreReadOnlyError(path);
      if (!readonly) checkSchemaVersion(this.db);
      if (onDisk && !readonly) privateFiles(path);
      // WAL lets REST readers run beside the writer. FULL makes every commit
      // an fsync; pipelined leaves that fsync to the flush thread below, and
      // acks wait for it either way. (An in-memory database has no WAL.)
      const wal = !readonly && this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
      const pipelined = wal && opts.fsync !== 'inline';
      this.db.pragma(pipelined ? 'synchronous = NORMAL' : 'synchronous = FULL');
      if (pipelined) {
        // The flush thread checkpoints too (wal-sync-worker.ts), off this thread.
        this.db.pragma('wal_autocheckpoint = 0');
        this.db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
        const file = new WorkerFileSync(path, CHECKPOINT);
        this.wal = { file, pipeline: new SyncPipeline(file, opts.onFatal) };
      }
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      if (!readonly) migrate(this.db);
      this.writer = new SqliteWriter((sql) => this.q(sql));
      this.boot = new SqliteBootstrapReader((sql) => this.q(sql));
      this.getAppStmt = this.q('SELECT * FROM apps WHERE app_id = ?');
      this.bySeqStmt = this.q(`SELECT ${MSG_COLS} FROM messages WHERE ${BY_APP} AND direction = 'in' AND seq = ?`);
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.runTx = this.db.transaction((fn: (w: StoreWriter) => unknown) => fn(this.writer));
    // Nested db.transaction calls run as SAVEPOINTs: one op's failure rolls back
    // that op only, and the outer transaction commits the rest with one fsync.
    const savepoint = this.db.transaction((op: (w: StoreWriter) => void) => op(this.writer));
    this.runBatch = this.db.transaction((ops: ReadonlyArray<(w: StoreWriter) => void>) =>
      ops.map((op) => {
        try {
          savepoint(op);
          return undefined;
        } catch (e) {
          // Some errors (disk full, I/O) make SQLite abort the whole transaction;
          // carrying on would run the remaining ops in autocommit.
          if (!this.db.inTransaction) throw e;
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
  }

  /** Prepares each distinct SQL text once for the life of the connection. */
  private q(sql: string): Stmt {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  transaction<T>(fn: (w: StoreWriter) => T, opts: CommitOptions = {}): T {
    const out = this.runTx.immediate(fn) as T;
    if (!opts.deferSync) this.wal?.file.syncNow();
    return out;
  }

  batch(ops: ReadonlyArray<(w: StoreWriter) => void>, opts: CommitOptions = {}): Array<Error | undefined> {
    if (ops.length === 0) return [];
    const out = this.runBatch.immediate(ops);
    if (!opts.deferSync) this.wal?.file.syncNow();
    return out;
  }

  pollDurable(): void {
    this.wal?.pipeline.poll();
  }

  whenFlushIdle(fn: () => void): void {
    if (this.wal) this.wal.pipeline.whenIdle(fn);
    else fn();
  }

  whenDurable(done: (err?: Error) => void): void {
    if (!this.db.open) return done(new TypeError('The database connection is not open'));
    if (this.wal) this.wal.pipeline.whenDurable(done);
    else done();
  }

  close(): void {
    // A commit still waiting for its flush gets it now, before the WAL may go.
    if (this.db.open) this.wal?.pipeline.close();
    this.stmts.clear();
    this.db.close();
  }

  getApp(appId: string): AppRow | undefined {
    const r = this.getAppStmt.get(appId) as Raw | undefined;
    return r && appFromRow(r);
  }

  listApps(filter: AppFilter = {}): AppRow[] {
    const [w, args] = where([
      ['status = ?', filter.status],
      ['namespace = ?', filter.namespace],
      ['parent_id = ?', filter.parent_id],
    ]);
    const rows = this.q(`SELECT * FROM apps ${w} ORDER BY created_at, rowid LIMIT ?`).all(...args, limitOf(filter.limit));
    return (rows as Raw[]).map(appFromRow);
  }

  children(appId: string, recursive = false): AppRow[] {
    // Each app has one parent, so a cycle reachable from the root must pass
    // through the root; excluding the root ends the recursion on any cycle.
    const sql = recursive
      ? `WITH RECURSIVE tree(app_id, depth) AS (
           SELECT app_id, 1 FROM apps WHERE parent_id = @root AND app_id <> @root
           UNION ALL
           SELECT a.app_id, t.depth + 1 FROM apps a JOIN tree t ON a.parent_id = t.app_id WHERE a.app_id <> @root
         )
         SELECT a.* FROM tree t JOIN apps a ON a.app_id = t.app_id ORDER BY t.depth, a.created_at, a.rowid`
      : 'SELECT * FROM apps WHERE parent_id = @root AND app_id <> @root ORDER BY created_at, rowid';
    return (this.q(sql).all({ root: appId }) as Raw[]).map(appFromRow);
  }

  messages(appId: string, filter: MessageFilter = {}): MessageRow[] {
    const rows =
      filter.msg_type === undefined
        ? this.q(`SELECT ${MSG_COLS} FROM messages WHERE ${BY_APP} ORDER BY id LIMIT ?`).all(appId, limitOf(filter.limit))
        : this.q(`SELECT ${MSG_COLS} FROM messages WHERE ${BY_APP} AND msg_type = ? ORDER BY id LIMIT ?`).all(
            appId, filter.msg_type, limitOf(filter.limit),
          );
    return (rows as Raw[]).map(messageFromRow);
  }

  /** The inbound (data) message with this seq: the one the unique index guards. */
  maxSeq(appId: string): number {
    const r = this.q(`SELECT MAX(seq) AS m FROM messages WHERE ${BY_APP} AND direction = 'in'`).get(appId) as { m: number | null };
    return r.m ?? 0;
  }

  messageBySeq(appId: string, seq: number): MessageRow | undefined {
    const r = this.bySeqStmt.get(appId, seq) as Raw | undefined;
    return r && messageFromRow(r);
  }

  snapshots(appId: string, limit?: number): SnapshotRow[] {
    const sql = 'SELECT * FROM snapshots WHERE app_id = ? ORDER BY created_at DESC, id DESC LIMIT ?';
    return (this.q(sql).all(appId, limitOf(limit)) as Raw[]).map(snapshotFromRow);
  }

  latestSnapshot(appId: string): SnapshotRow | undefined {
    return this.snapshots(appId, 1)[0];
  }

  crashes(filter: { app_id?: string; since?: string; limit?: number } = {}): CrashRow[] {
    const [w, args] = where([
      ['app_id = ?', filter.app_id],
      ['detected_at >= ?', filter.since],
    ]);
    const rows = this.q(`SELECT * FROM crashes ${w} ORDER BY detected_at DESC, id DESC LIMIT ?`).all(
      ...args, limitOf(filter.limit),
    );
    return (rows as Raw[]).map(crashFromRow);
  }

  seqGaps(appId: string): SeqGapRow[] {
    return (this.q('SELECT * FROM seq_gaps WHERE app_id = ? ORDER BY from_seq').all(appId) as Raw[]).map(gapFromRow);
  }

  getControl(correlationId: string): ControlRow | undefined {
    const r = this.q('SELECT * FROM control_queue WHERE correlation_id = ?').get(correlationId) as Raw | undefined;
    return r && controlFromRow(r);
  }

  pendingControls(appId: string): ControlRow[] {
    const sql = `SELECT * FROM control_queue WHERE app_id = ? AND status IN ('queued', 'sent') ORDER BY id`;
    return (this.q(sql).all(appId) as Raw[]).map(controlFromRow);
  }

  expiredControls(now: string): ControlRow[] {
    const sql = `SELECT * FROM control_queue WHERE status IN ('queued', 'sent') AND expires_at <= ?
                 ORDER BY expires_at, id`;
    return (this.q(sql).all(now) as Raw[]).map(controlFromRow);
  }

  auditLog(filter: { target_app_id?: string; limit?: number } = {}): AuditRow[] {
    const rows =
      filter.target_app_id === undefined
        ? this.q('SELECT * FROM audit_log ORDER BY timestamp DESC, id DESC LIMIT ?').all(limitOf(filter.limit))
        : this.q('SELECT * FROM audit_log WHERE target_app_id = ? ORDER BY timestamp DESC, id DESC LIMIT ?').all(
            filter.target_app_id, limitOf(filter.limit),
          );
    return (rows as Raw[]).map(auditFromRow);
  }

  overdueScheduled(nowMs: number): AppRow[] {
    // The status index narrows to scheduled apps (few); the deadline arithmetic
    // on ISO text is done in JS so both stores share one rule (rows.isOverdue).
    const rows = this.q(`SELECT * FROM apps WHERE status = 'scheduled' ORDER BY created_at, rowid`).all() as Raw[];
    return rows.map(appFromRow).filter((a) => isOverdue(a, nowMs));
  }

  getMeta(key: string): string | undefined {
    const v = this.q('SELECT value FROM gateway_meta WHERE key = ?').pluck().get(key) as string | null | undefined;
    return v ?? undefined;
  }

  setMeta(key: string, value: string): void {
    this.q('INSERT INTO gateway_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
      key, value,
    );
  }

  // ── bootstrap tier (bootstrap-sql.ts) ──
  getBootstrapDevice(childPubKey: string): BootstrapDeviceRow | undefined {
    return this.boot.getBootstrapDevice(childPubKey);
  }

  bootstrapDevicesByMac(mac: string, parentPubKey?: string): BootstrapDeviceRow[] {
    return this.boot.bootstrapDevicesByMac(mac, parentPubKey);
  }

  pinnedBootstrapDevice(mac: string, parentPubKey: string): BootstrapDeviceRow | undefined {
    return this.boot.pinnedBootstrapDevice(mac, parentPubKey);
  }

  countBootstrapDevices(status: BootstrapStatus): number {
    return this.boot.countBootstrapDevices(status);
  }

  bootstrapDeviceByApp(appId: string): BootstrapDeviceRow | undefined {
    return this.boot.bootstrapDeviceByApp(appId);
  }

  listBootstrapDevices(filter?: BootstrapFilter): BootstrapDeviceRow[] {
    return this.boot.listBootstrapDevices(filter);
  }

  getClaimIntent(parentPubKey: string): ClaimIntentRow | undefined {
    return this.boot.getClaimIntent(parentPubKey);
  }
}
