/**
 * The REST API's request and response shapes (docs/API.md), for every
 * caller: the CLI, the browser, tests. They follow gateway/api/schemas.ts.
 */
import type { JsonValue, SecLevel } from '../frames.js';
import type { AppRow, AppStatus } from './resources.js';

export type { AppRow, AppStatus, CrashRow, MessageRow, SnapshotRow } from './resources.js';
export type { ErrorBody } from './errors.js';

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
