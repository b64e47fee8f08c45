/**
 * What the commands need from the gateway, as an interface: the HTTP
 * implementation signs every request (http-client.ts); tests may hand in
 * anything that behaves the same. The shapes are the protocol's
 * (protocol/api/types.ts).
 */
import type { JsonValue } from '../../protocol/frames.js';
import type { App, AppStatus, CancelReport, ControlAnswer, CrashRow, DeclareChild, DeclaredChild, Health, JoinGrant, MessageRow, SnapshotRow, WatchFilter, WatchMessage } from '../../protocol/api/types.js';

export * from '../../protocol/api/types.js';

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
