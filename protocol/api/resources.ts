/**
 * The resources of the REST API (docs/API.md) as the gateway answers them:
 * an app, its messages, snapshots and crashes. Column names are the
 * reference schema's (spec §22); the gateway's store keeps exactly these rows,
 * and the CLI and the browser read them.
 */
import type { JsonValue, MsgType, SecLevel } from '../frames.js';

export type AppStatus =
  | 'scheduled'
  | 'connected'
  | 'running'
  | 'done'
  | 'error'
  | 'crashed'
  | 'cancelled'
  | 'start_failed'
  | 'reconnecting'
  | 'lost_contact';

export const TERMINAL_STATUSES: readonly AppStatus[] = ['done', 'error', 'crashed', 'cancelled', 'start_failed'];
export const APP_STATUSES: readonly AppStatus[] = [
  'scheduled', 'connected', 'running', 'done', 'error', 'crashed',
  'cancelled', 'start_failed', 'reconnecting', 'lost_contact',
];
export const LIVE_STATUSES: readonly AppStatus[] = ['connected', 'running'];

export type CrashType = 'connection_drop' | 'heartbeat_timeout' | 'never_started';

/** Column names are the reference schema's (spec §22), so its SQL runs unchanged. */
export interface AppRow {
  app_id: string;
  parent_id: string | null;
  app_name: string;
  namespace: string | null;
  pod_name: string | null;
  node_name: string | null;
  pod_ip: string | null;
  pid: number | null;
  ppid: number | null;
  executable: string | null;
  proc_uid: number | null;
  proc_gid: number | null;
  proc_user: string | null;
  originator_sub: string | null;
  originator_groups: string[] | null;
  pub_key: string | null;
  status: AppStatus;
  start_time: string | null;
  connected_at: string | null;
  disconnected_at: string | null;
  server_instance: string | null;
  role_refs: string[] | null;
  metadata_json: JsonValue | null;
  start_deadline: number | null;
  created_at: string;
  updated_at: string;
  // ── ours, beside the reference columns ──
  sec_level: SecLevel | null;
  /** Highest data seq stored for this app (0 = none). */
  last_seq: number;
  /** Last accepted signed control-plane timestamp (register, re_register, disconnect). */
  last_auth_ts: number;
}

export interface MessageRow {
  id: number;
  app_id: string;
  direction: 'in' | 'out';
  msg_type: MsgType | 'Control';
  seq: number;
  correlation_id: string | null;
  payload_json: JsonValue;
  created_at: string;
}
export interface SnapshotRow {
  id: number;
  app_id: string;
  namespace: string | null;
  seq: number;
  snapshot_json: JsonValue;
  created_at: string;
}
// A snapshot is an app's Status message seen through the reference's
// `snapshots` columns (a view in SQLite): there is nothing to insert.

export interface CrashRow {
  id: number;
  app_id: string;
  detected_at: string;
  crash_type: CrashType;
  gap_seconds: number | null;
  metadata_json: JsonValue | null;
}
