/**
 * What the commands need from the gateway, as an interface: the HTTP
 * implementation signs every request (http-client.ts); tests may hand in
 * anything that behaves the same. Shapes follow gateway/api/schemas.ts.
 */
import type { JsonValue, SecLevel } from '../../protocol/frames.js';
import type { AppRow, AppStatus, CrashRow, MessageRow, SnapshotRow } from '../../gateway/store/types.js';

export type App = Omit<AppRow, 'last_auth_ts'>;

export interface ControlAnswer {
  /** 200: the device answered; 504: it did not in time (or the control expired / could not be delivered). */
  status: 'answered' | 'timeout' | 'expired' | 'undeliverable';
  correlation_id: string;
  response?: { ack: boolean; result?: JsonValue; error?: string | null };
  message?: string;
}

export interface CancelNode {
  app_id: string;
  app_name: string;
  depth: number;
  outcome: 'cancelled' | 'force_killed' | 'queued' | 'already_terminal';
  ms: number;
  status?: AppStatus;
  correlation_id?: string;
  response?: JsonValue;
}

export interface CancelReport {
  root_app_id: string;
  cascade: boolean;
  grace_seconds: number;
  ms: number;
  counts?: Record<string, number>;
  nodes: CancelNode[];
}

export interface DeclareChild {
  parentId: string;
  appId: string;
  appName: string;
  startDeadline: number;
  secLevel?: SecLevel;
  tags?: Record<string, JsonValue>;
}

/** POST /api/v1/children answers the row and the child's join grant (docs/API.md "Join tokens"). */
export type DeclaredChild = App & { join_token: string | null; server_ep: string | null };

export interface JoinGrant {
  app_id: string;
  parent_id: string | null;
  join_token: string;
  server_ep: string;
}

export interface Health {
  status: string;
  server_pub_key?: string;
}

/** One message of the watch stream (docs/API.md "Watch"). */
export type WatchMessage =
  | { type: 'snapshot'; app: App; latest_snapshot?: { seq: number; snapshot_json: JsonValue; created_at: string }; result?: JsonValue; error?: JsonValue; crash_type?: string }
  | { type: 'caught_up'; apps: number }
  | { type: 'event'; event: WatchEvent }
  | { type: 'events'; events: WatchEvent[] }
  | { type: 'terminal'; app_id: string; status: AppStatus; result?: JsonValue; error?: JsonValue; crash_type?: string };

export interface WatchEvent {
  type: 'app_status' | 'message' | 'crash' | 'control';
  app_id: string;
  parent_id: string | null;
  namespace: string | null;
  at: string;
  status?: AppStatus | string;
  msg_type?: 'Status' | 'Result' | 'Error';
  seq?: number;
  payload?: JsonValue;
  crash_type?: string;
  action?: string;
  correlation_id?: string;
  result?: JsonValue;
}

export interface WatchFilter {
  app_id?: string;
  parent_id?: string;
  namespace?: string;
}

export interface WatchConnection {
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export interface ApiClient {
  readonly serverUrl: string;
  health(): Promise<Health>;
  getApp(appId: string): Promise<App>;
  listApps(query?: { status?: AppStatus; parent_id?: string; limit?: number }): Promise<App[]>;
  children(appId: string, query?: { recursive?: boolean; status?: AppStatus }): Promise<App[]>;
  /** undefined when the app has reported no snapshot yet. */
  latestSnapshot(appId: string): Promise<SnapshotRow | undefined>;
  messages(appId: string, query?: { type?: MessageRow['msg_type']; limit?: number }): Promise<MessageRow[]>;
  crashes(appId: string, limit?: number): Promise<CrashRow[]>;
  control(appId: string, body: { action: string; payload?: JsonValue; timeoutMs?: number }): Promise<ControlAnswer>;
  cancel(appId: string, opts: { cascade: boolean; graceSeconds?: number; reason?: string }): Promise<CancelReport>;
  declareChild(body: DeclareChild): Promise<DeclaredChild>;
  /** The join token a new app needs on a gated gateway (POST /api/v1/join-tokens). */
  joinToken(body: { appId: string; parentId: string | null }): Promise<JoinGrant>;
  /** Opens the watch; resolves once it is open, rejects with the gateway's refusal. */
  watch(filter: WatchFilter, onMessage: (m: WatchMessage) => void): Promise<WatchConnection>;
}
