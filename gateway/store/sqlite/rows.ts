/**
 * Row <-> object mapping, plus the pure rules (defaults, patchable columns,
 * limits, deadlines) that MemoryStore imports too: both stores must fill and
 * clamp identically, so those rules live in exactly one place.
 */
import type { JsonValue } from '../../../protocol/frames.js';
import type {
  AppPatch,
  AppRow,
  AppStatus,
  AuditRow,
  ControlPatch,
  ControlRow,
  ControlStatus,
  CrashRow,
  CrashType,
  MessageRow,
  NewApp,
  SeqGapRow,
  SnapshotRow,
} from '../types.js';

export { APP_STATUSES } from '../../../protocol/api/resources.js';
export const CRASH_TYPES: readonly CrashType[] = ['connection_drop', 'heartbeat_timeout', 'never_started'];
export const CONTROL_STATUSES: readonly ControlStatus[] = ['queued', 'sent', 'answered', 'expired', 'undeliverable'];
export const MESSAGE_TYPES: readonly MessageRow['msg_type'][] = ['Status', 'Result', 'Error', 'Control'];
export const DIRECTIONS: readonly MessageRow['direction'][] = ['in', 'out'];
/** Controls still owed to a device. */
export const PENDING_CONTROL: readonly ControlStatus[] = ['queued', 'sent'];

/** messages are found by the app's number (migration 8); callers know the app by its id. */
export const BY_APP = 'app_ref = (SELECT app_ref FROM apps WHERE app_id = ?)';

/** Every apps column, in table order; the INSERT and the mapping both walk it. */
export const APP_COLUMNS = [
  'app_id', 'parent_id', 'app_name', 'namespace', 'pod_name', 'node_name', 'pod_ip', 'pid', 'ppid',
  'executable', 'proc_uid', 'proc_gid', 'proc_user', 'originator_sub', 'originator_groups', 'pub_key',
  'status', 'start_time', 'connected_at', 'disconnected_at', 'server_instance', 'role_refs',
  'metadata_json', 'start_deadline', 'created_at', 'updated_at', 'sec_level', 'last_seq', 'last_auth_ts',
] as const satisfies ReadonlyArray<keyof AppRow>;
// Compile-time guard: adding a field to AppRow without a column breaks the build here.
export const APP_COLUMNS_COMPLETE: [Exclude<keyof AppRow, (typeof APP_COLUMNS)[number]>] extends [never] ? true : false =
  true;

type AppColumn = (typeof APP_COLUMNS)[number];
const APP_JSON_COLUMNS: ReadonlySet<string> = new Set(['originator_groups', 'role_refs', 'metadata_json']);
const APP_PATCHABLE: ReadonlySet<string> = new Set(APP_COLUMNS.filter((c) => c !== 'app_id' && c !== 'created_at'));
const CONTROL_PATCHABLE: ReadonlySet<string> = new Set(['status', 'sent_at', 'acked_at', 'ack_result_json']);

export const DEFAULT_START_DEADLINE = 300;

export function nowIso(): string {
  return new Date().toISOString();
}

/** JSON for a TEXT column; JS null/undefined become SQL NULL so `IS NULL` works as in the reference. */
export function jsonText(v: JsonValue | null | undefined): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

export function parseJson<T = JsonValue>(t: unknown): T | null {
  return t === null || t === undefined ? null : (JSON.parse(t as string) as T);
}

/** The same normalisation the SQLite round trip applies; MemoryStore copies with it. */
export function jsonCopy<T>(v: T): T {
  return v === undefined || v === null ? (null as T) : (JSON.parse(JSON.stringify(v)) as T);
}

/** Missing columns become null; the reference defaults (and ours) fill the rest. */
export function newAppRow(app: NewApp, now: string): AppRow {
  const src = app as Partial<Record<AppColumn, unknown>>;
  const row = {} as Record<AppColumn, unknown>;
  for (const c of APP_COLUMNS) row[c] = src[c] ?? null;
  if (src.start_deadline === undefined) row.start_deadline = DEFAULT_START_DEADLINE;
  row.created_at ??= now;
  row.updated_at ??= now;
  row.last_seq ??= 0;
  row.last_auth_ts ??= 0;
  return row as unknown as AppRow;
}

export function encodeAppValue(col: string, v: unknown): unknown {
  if (APP_JSON_COLUMNS.has(col)) return jsonText(v as JsonValue | null | undefined);
  return v ?? null;
}

export function appParams(row: AppRow): unknown[] {
  return APP_COLUMNS.map((c) => encodeAppValue(c, row[c]));
}

/**
 * The columns a patch sets (undefined values are skipped, updated_at is the
 * caller's to handle). Unknown keys throw: the names end up in SQL text.
 */
export function appPatchEntries(patch: AppPatch): Array<[string, unknown]> {
  return patchEntries(patch as Record<string, unknown>, APP_PATCHABLE, 'apps').filter(([c]) => c !== 'updated_at');
}

export function controlPatchEntries(patch: ControlPatch): Array<[string, unknown]> {
  return patchEntries(patch as Record<string, unknown>, CONTROL_PATCHABLE, 'control_queue');
}

function patchEntries(patch: Record<string, unknown>, allowed: ReadonlySet<string>, table: string): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (!allowed.has(k)) throw new Error(`cannot patch column ${table}.${k}`);
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

/** SQL LIMIT value: undefined, NaN or negative mean "no limit" (-1, as SQLite reads it). */
export function limitOf(limit: number | undefined): number {
  if (limit === undefined || !(limit >= 0)) return -1;
  return Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER);
}

export function take<T>(rows: T[], limit: number | undefined): T[] {
  const n = limitOf(limit);
  return n < 0 ? rows : rows.slice(0, n);
}

/** A null start_deadline means "no deadline"; an unparseable created_at is never overdue. */
export function isOverdue(app: AppRow, nowMs: number): boolean {
  if (app.status !== 'scheduled' || app.start_deadline === null) return false;
  return Date.parse(app.created_at) + app.start_deadline * 1000 <= nowMs;
}

type Raw = Record<string, unknown>;

export function appFromRow(r: Raw): AppRow {
  const out = {} as Record<AppColumn, unknown>;
  for (const c of APP_COLUMNS) out[c] = APP_JSON_COLUMNS.has(c) ? parseJson(r[c]) : r[c];
  return out as unknown as AppRow;
}

export function messageFromRow(r: Raw): MessageRow {
  return {
    id: r.id as number,
    app_id: r.app_id as string,
    direction: r.direction as MessageRow['direction'],
    msg_type: r.msg_type as MessageRow['msg_type'],
    seq: r.seq as number,
    correlation_id: r.correlation_id as string | null,
    payload_json: parseJson(r.payload_json),
    created_at: r.created_at as string,
  };
}

export function snapshotFromRow(r: Raw): SnapshotRow {
  return {
    id: r.id as number,
    app_id: r.app_id as string,
    namespace: r.namespace as string | null,
    seq: r.seq as number,
    snapshot_json: parseJson(r.snapshot_json),
    created_at: r.created_at as string,
  };
}

export function crashFromRow(r: Raw): CrashRow {
  return {
    id: r.id as number,
    app_id: r.app_id as string,
    detected_at: r.detected_at as string,
    crash_type: r.crash_type as CrashType,
    gap_seconds: r.gap_seconds as number | null,
    metadata_json: parseJson(r.metadata_json),
  };
}

export function gapFromRow(r: Raw): SeqGapRow {
  return {
    app_id: r.app_id as string,
    from_seq: r.from_seq as number,
    to_seq: r.to_seq as number,
    detected_at: r.detected_at as string,
  };
}

export function controlFromRow(r: Raw): ControlRow {
  return {
    id: r.id as number,
    app_id: r.app_id as string,
    action: r.action as string,
    payload_json: parseJson(r.payload_json),
    correlation_id: r.correlation_id as string,
    status: r.status as ControlStatus,
    origin: r.origin as string,
    created_at: r.created_at as string,
    expires_at: r.expires_at as string,
    sent_at: r.sent_at as string | null,
    acked_at: r.acked_at as string | null,
    ack_result_json: parseJson(r.ack_result_json),
  };
}

export function auditFromRow(r: Raw): AuditRow {
  return {
    id: r.id as number,
    timestamp: r.timestamp as string,
    action: r.action as string,
    target_app_id: r.target_app_id as string | null,
    cascade: r.cascade === 1,
    payload_json: parseJson(r.payload_json),
    auth_domain: r.auth_domain as string,
    source_app_id: r.source_app_id as string | null,
    oauth_subject: r.oauth_subject as string | null,
    source_ip: r.source_ip as string | null,
    user_agent: r.user_agent as string | null,
    outcome: r.outcome as string,
    count: r.count as number,
  };
}
