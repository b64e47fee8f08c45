/**
 * The gateway's store. Reads are synchronous (SQLite answers in microseconds
 * and the REST layer wants plain values); every write goes through
 * `transaction`, which the group committer (device/group-commit.ts) calls once
 * for many frames, so that one fsync covers them all.
 *
 * Two implementations pass one contract suite (test/store/contract.ts):
 * SqliteStore (the product) and MemoryStore (the twin for pure tests).
 */
import type { JsonValue } from '../../protocol/frames.js';
import type { BootstrapReader, BootstrapWriter } from './bootstrap-types.js';
import type { AppRow, AppStatus, CrashRow, CrashType, MessageRow, SnapshotRow } from '../../protocol/api/resources.js';

/** The rows the REST API returns are the protocol's (protocol/api/resources.ts). */
export { APP_STATUSES, LIVE_STATUSES, TERMINAL_STATUSES } from '../../protocol/api/resources.js';
export type { AppRow, AppStatus, CrashRow, CrashType, MessageRow, SnapshotRow };

export type NewApp = Pick<AppRow, 'app_id' | 'parent_id' | 'app_name' | 'status'> & Partial<AppRow>;
export type AppPatch = Partial<Omit<AppRow, 'app_id' | 'created_at'>>;

/** `payload_text`, when given, is JSON.stringify(payload_json) already made by the caller (the ingest path has it). */
export type NewMessage = Omit<MessageRow, 'id'> & { payload_text?: string };

export type NewCrash = Omit<CrashRow, 'id'>;

export interface SeqGapRow {
  app_id: string;
  from_seq: number;
  to_seq: number;
  detected_at: string;
}

export type ControlStatus = 'queued' | 'sent' | 'answered' | 'expired' | 'undeliverable';

export interface ControlRow {
  id: number;
  app_id: string;
  action: string;
  payload_json: JsonValue;
  correlation_id: string;
  status: ControlStatus;
  origin: string;
  created_at: string;
  expires_at: string;
  sent_at: string | null;
  acked_at: string | null;
  ack_result_json: JsonValue | null;
}
export type NewControl = Omit<ControlRow, 'id' | 'sent_at' | 'acked_at' | 'ack_result_json'>;
export type ControlPatch = Partial<Pick<ControlRow, 'status' | 'sent_at' | 'acked_at' | 'ack_result_json'>>;

export interface AuditRow {
  id: number;
  timestamp: string;
  action: string;
  target_app_id: string | null;
  cascade: boolean;
  payload_json: JsonValue | null;
  auth_domain: string;
  source_app_id: string | null;
  oauth_subject: string | null;
  source_ip: string | null;
  user_agent: string | null;
  outcome: string;
  /**
   * How many events the row stands for: 1, except for the refusals of
   * unauthenticated requests, which are counted per source and reason over
   * an interval (audit/refusal-tally.ts) instead of written one by one.
   */
  count: number;
}
/** `count` defaults to 1. */
export type NewAudit = Omit<AuditRow, 'id' | 'count'> & { count?: number };

/** Audit retention (audit/audit-retention.ts): what one bounded prune may delete. */
export interface AuditPrune {
  /** Rows with a timestamp before this (ISO-8601) go. */
  olderThan: string;
  /** Rows beyond the newest `keepRows` ids go. */
  keepRows: number;
  /** At most this many rows are deleted by one call. */
  limit: number;
}

export interface AppFilter {
  status?: AppStatus;
  namespace?: string;
  parent_id?: string;
  limit?: number;
}

export interface MessageFilter {
  msg_type?: MessageRow['msg_type'];
  limit?: number;
}

/** Seqs `after < seq <= upTo` of one app. */
export interface SeqRange {
  readonly after: number;
  readonly upTo: number;
}

/** The write side, valid only inside `transaction`. */
export interface StoreWriter extends BootstrapWriter {
  insertApp(app: NewApp): void;
  updateApp(appId: string, patch: AppPatch): void;
  deleteApp(appId: string): void;
  insertMessage(m: NewMessage): void;
  insertCrash(c: NewCrash): void;
  insertSeqGap(g: SeqGapRow): void;
  /** Shrinks or splits the gap containing `seq`; returns false if `seq` lies in no gap. */
  fillSeqGap(appId: string, seq: number): boolean;
  insertControl(c: NewControl): number;
  updateControl(id: number, patch: ControlPatch): void;
  insertAudit(a: NewAudit): void;
  /**
   * Audit retention: deletes at most `p.limit` rows, the oldest first, that
   * are older than `p.olderThan` or beyond the newest `p.keepRows` ids.
   * Returns how many went; a caller that got `limit` calls again later.
   */
  pruneAudit(p: AuditPrune): number;
  /**
   * Snapshot retention: deletes the app's inbound Status rows (its snapshots)
   * with `after < seq <= upTo`; Result, Error and outgoing rows stay. Returns
   * how many went. A range, not a count, so that a sweep pays only for the
   * rows it deletes (device/snapshot-pruner.ts).
   */
  pruneSnapshots(appId: string, range: SeqRange): number;
  /** Marks every app of `instance` in `from` as `to`; returns their ids. */
  moveStatus(instance: string, from: readonly AppStatus[], to: AppStatus, at: string): string[];
  /**
   * Records a request nonce of `keyText` until `expiresAt` (ms). Returns false,
   * recording nothing, when the same key already holds it unexpired at `now`.
   */
  claimNonce(keyText: string, nonce: string, expiresAt: number, now: number): boolean;
  /** Forgets nonces that expired at or before `now` (ms); returns how many. */
  pruneNonces(now: number): number;
}

export interface CommitOptions {
  /**
   * Return as soon as the transaction is committed, before it is on disk; the
   * caller learns of its durability from `whenDurable`. The group committer
   * uses this so that the event loop never waits for an fsync.
   */
  deferSync?: boolean;
}

export interface GatewayStore extends StoreReader {
  /** Runs `fn` atomically and (unless `deferSync`) durably: when it returns, the writes are on disk. */
  transaction<T>(fn: (w: StoreWriter) => T, opts?: CommitOptions): T;
  /**
   * Runs each op in its own savepoint inside one transaction; a failing op is
   * rolled back alone and its error returned in its slot (undefined = ok).
   */
  batch(ops: ReadonlyArray<(w: StoreWriter) => void>, opts?: CommitOptions): Array<Error | undefined>;
  /**
   * Calls `done` once every transaction committed so far is on disk: at once
   * where commits are durable on return, after the next flush otherwise. An
   * error means the flush failed and none of it may be acknowledged.
   */
  whenDurable(done: (err?: Error) => void): void;
  /**
   * Runs the callbacks of a flush that has finished, without waiting for the
   * event loop to deliver the news; cheap enough to call for every frame.
   */
  pollDurable(): void;
  /**
   * Runs `fn` once no flush is in flight (at once where there are none). A
   * commit made while a flush runs could only join the next flush, so the
   * group committer waits here and commits once, bigger.
   */
  whenFlushIdle(fn: () => void): void;
  close(): void;
}

export interface StoreReader extends BootstrapReader {
  getApp(appId: string): AppRow | undefined;
  listApps(filter?: AppFilter): AppRow[];
  /** Direct children, or the whole subtree (breadth-first, excluding the root) when recursive. */
  children(appId: string, recursive?: boolean): AppRow[];
  messages(appId: string, filter?: MessageFilter): MessageRow[];
  messageBySeq(appId: string, seq: number): MessageRow | undefined;
  /** Highest seq of the app's incoming messages (0 = none). */
  maxSeq(appId: string): number;
  snapshots(appId: string, limit?: number): SnapshotRow[];
  latestSnapshot(appId: string): SnapshotRow | undefined;
  crashes(filter?: { app_id?: string; since?: string; limit?: number }): CrashRow[];
  seqGaps(appId: string): SeqGapRow[];
  getControl(correlationId: string): ControlRow | undefined;
  pendingControls(appId: string): ControlRow[];
  /** Controls in `queued` or `sent` whose expiry is at or before `now`. */
  expiredControls(now: string): ControlRow[];
  auditLog(filter?: { target_app_id?: string; limit?: number }): AuditRow[];
  /** Scheduled apps whose start deadline has passed at `now` (ms). */
  overdueScheduled(nowMs: number): AppRow[];
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}
