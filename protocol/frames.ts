/**
 * Every frame on /ws, as it travels (snake_case, PROTOCOL-NOTES). docs/PROTOCOL.md
 * is the prose of this file; keep the two together.
 */
import type { BootstrapPendingFrame, BootstrapRegisterFrame } from './bootstrap-frames.js';
import type { JsonValue, SecLevel } from './values.js';

export { SEC_LEVELS, type JsonValue, type SecLevel } from './values.js';

export type MsgType = 'Status' | 'Result' | 'Error';
export const MSG_TYPES: readonly MsgType[] = ['Status', 'Result', 'Error'];


export interface ProcessInfo {
  pid?: number | null;
  ppid?: number | null;
  uid?: number | null;
  gid?: number | null;
  hostname?: string | null;
  node_name?: string | null;
  pod_ip?: string | null;
  namespace?: string | null;
  start_time?: number | null;
  executable?: string | null;
}

// ── client → gateway ────────────────────────────────────────────────

export interface RegisterFrame {
  type: 'register';
  app_id: string;
  parent_id: string | null;
  app_name: string;
  child_pub_key: string;
  process_info?: ProcessInfo | null;
  role_refs?: string[] | null;
  /** Our extension: the tier the app asks for. Absent = open, or signed when `sig` is set. */
  sec_level?: SecLevel | null;
  /** Our extension, required when signed: ms since epoch, inside the signed bytes (replay window). */
  timestamp?: number | null;
  /** Encrypted tier: this session's ephemeral X25519 public key, "x25519:" + base64. */
  child_ephemeral?: string | null;
  /** Registration gate: the app's join token, for clients that carry several apps on one socket (else the URL's ?join=). */
  join?: string | null;
  sig?: string | null;
}

export interface ReRegisterFrame {
  type: 're_register';
  app_id: string;
  last_seq?: number | null;
  pub_key: string;
  timestamp?: number | null;
  child_ephemeral?: string | null;
  join?: string | null;
  sig?: string | null;
}

export interface MessageHeader {
  msg_type: MsgType;
  timestamp: number;
  seq: number;
  correlation_id?: string | null;
}

export interface MessageFrame {
  type: 'message';
  app_id: string;
  header: MessageHeader;
  payload: JsonValue;
  start_day?: number | null;
  sig?: string | null;
}

export interface DisconnectFrame {
  type: 'disconnect';
  app_id: string;
  reason?: string | null;
  timestamp?: number | null;
  sig?: string | null;
}

/** Our frame: a device's answer to a control, tied to it by correlation_id. */
export interface ControlResponseFrame {
  type: 'control_response';
  app_id: string;
  correlation_id: string;
  ack: boolean;
  result?: JsonValue;
  error?: string | null;
  action?: string | null;
  timestamp?: number | null;
  sig?: string | null;
}

export type ClientFrame = RegisterFrame | ReRegisterFrame | MessageFrame | DisconnectFrame | ControlResponseFrame | BootstrapRegisterFrame;
export type ClientFrameType = ClientFrame['type'];

// ── gateway → client ────────────────────────────────────────────────

export interface RegisteredFrame {
  type: 'registered';
  app_id: string;
  server_pub_key: string;
  /** Our extension: the highest seq the gateway has stored for this app (0 = none). */
  last_seq: number;
  sec_level: SecLevel;
  /** Encrypted tier: the gateway's ephemeral X25519 key, and the device's echoed (binds the answer to this handshake). */
  server_ephemeral?: string;
  child_ephemeral?: string;
  /** The gateway key's signature: a device that pinned serverPubKey knows the answer is genuine. */
  sig?: string;
}

export interface AckFrame {
  type: 'ack';
  seq: number;
  /** Our extension: which app the seq belongs to (several apps may share a socket). */
  app_id: string;
  /** Present and true when the seq was already stored: acked again, stored once. */
  duplicate?: true;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  app_id?: string;
  seq?: number;
  correlation_id?: string;
}

export interface ControlFrame {
  type: 'control';
  app_id: string;
  action: string;
  correlation_id: string;
  payload: JsonValue;
  issued_at: number;
  expires_at: number;
  sig: string;
}

export type ServerFrame = RegisteredFrame | AckFrame | ErrorFrame | ControlFrame | BootstrapPendingFrame;

// ── error codes and close codes ─────────────────────────────────────

export type ErrorCode =
  | 'invalid_json'
  | 'too_complex'
  | 'bad_frame'
  | 'unknown_type'
  | 'registration_failed'
  | 'already_registered'
  | 'unknown_parent'
  | 'app_owned'
  | 'app_terminal'
  | 'not_registered'
  | 'tier_mismatch'
  | 'tier_requires_tls'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'seq_regressed'
  | 'seq_conflict'
  | 'unknown_correlation'
  | 'sealed_refused'
  | 'rate_limited'
  | 'storage_unavailable'
  | 'too_many_apps'
  // an unexpected failure of the gateway while it handled this one frame; the frame is refused, nothing of it stored
  | 'internal_error'
  // bootstrap tier (bootstrap-frames.ts)
  | 'no_claim_intent'
  | 'key_mismatch'
  | 'bootstrap_full'
  // registration gate (join-gate.ts)
  | 'join_required'
  | 'parent_mismatch';

/**
 * WebSocket close codes the gateway uses; documented in docs/PROTOCOL.md.
 * 4000–4099 are retryable: reconnect with backoff. 4400–4499 are final: the
 * gateway refused the app for a reason that retrying with the same
 * configuration will not change (as HTTP 4xx: fix the request, do not
 * repeat it). A well-behaved client stops reconnecting that app and reports
 * the error frame that came just before the close.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooLarge: 1009,
  serviceRestart: 1012,
  registrationTimeout: 4001,
  tooManyErrors: 4002,
  rateLimited: 4003,
  overloaded: 4004,
  /** RFC 6455 1011: the gateway failed on something this socket sent and closes only this socket. */
  internalError: 1011,
  // bootstrap tier: no active claim intent for parent_pub_key; unclaimed too long
  noClaimIntent: 4005,
  bootstrapExpired: 4007,
  // final: refused for good (the error frame before the close says which code)
  refused: 4400,
  /** join_required: the registration gate found no valid join token for the app (docs/PROTOCOL.md "Registration gate"). */
  joinRequired: 4401,
  /** app_owned, or key_mismatch (a MAC presented with a key it is not pinned to; was 4006). */
  keyMismatch: 4403,
  /** app_terminal: the app is over (done, error, cancelled, force-killed, start_failed). */
  appTerminal: 4410,
  /** tier_mismatch, tier_requires_tls: the app must connect at another tier, or over wss://. */
  tierMismatch: 4426,
} as const;

/** True for a close code after which a client must not reconnect with the same configuration. */
export function isFinalClose(code: number): boolean {
  return code >= 4400 && code <= 4499;
}

/**
 * Refusals that retrying will not change, with the close that ends a socket
 * left carrying no app after one. join_required is refused until an operator
 * acts, which is a change of configuration too.
 */
export const FINAL_REFUSALS: Readonly<Record<string, number>> = {
  tier_mismatch: CloseCode.tierMismatch,
  tier_requires_tls: CloseCode.tierMismatch,
  app_owned: CloseCode.keyMismatch,
  key_mismatch: CloseCode.keyMismatch,
  app_terminal: CloseCode.appTerminal,
  join_required: CloseCode.joinRequired,
};
