/** Options, per-connection state, counters and claims of the bootstrap tier (bootstrap.ts, provisioning.ts), shared with hub-types.ts. */
import type { KeyObject } from 'node:crypto';
import type { ProvisionPayload } from '../../protocol/bootstrap-frames.js';
import type { BootstrapDeviceRow } from '../store/bootstrap-types.js';
import type { AppRow } from '../store/types.js';
import type { RegistrationMode } from './join-gate.js';

export interface BootstrapOptions {
  /** An unclaimed device is held this long, then expired and its socket closed (4007). */
  bootstrapTtlMs: number;
  /** bootstrap_register frames per minute per remote address, and the burst above it. */
  bootstrapPerMinute: number;
  bootstrapBurst: number;
  /** Default life of a claim intent. */
  claimIntentTtlMs: number;
  /** Awaiting first-contact rows held at once, all addresses together; beyond it bootstrap_full (4004). */
  bootstrapMaxAwaiting: number;
  /** bootstrap_register frames per minute from all addresses together, on top of the per-address rate. */
  bootstrapGlobalPerMinute: number;
  /** Expired first-contact rows are deleted this long after they expired. */
  bootstrapRetentionMs: number;
  /**
   * Registration gate (join-gate.ts): `gated` refuses an undeclared, unclaimed
   * app without a join token, and an open-tier app's resume without it. A hub
   * without a household key can only be `open` (tests, the reference scenarios).
   */
  registration: RegistrationMode;
  /** The household secret (data dir household.key) the join tokens derive from. */
  householdKey: Uint8Array | null;
}

export const DEFAULT_BOOTSTRAP_OPTIONS: BootstrapOptions = {
  bootstrapTtlMs: 3_600_000,
  bootstrapPerMinute: 10,
  bootstrapBurst: 20,
  claimIntentTtlMs: 3_600_000,
  bootstrapMaxAwaiting: 1000,
  bootstrapGlobalPerMinute: 120,
  bootstrapRetentionMs: 86_400_000,
  registration: 'open',
  householdKey: null,
};

/** A socket that made first contact: it carries one device key and no app. */
export interface BootstrapLink {
  readonly childPubKey: string;
  readonly key: KeyObject;
  /** Last accepted signed timestamp on this link (replay window of its control_response). */
  lastAuthTs: number;
}

/** Counters of the bootstrap tier (bootstrap.ts), read by provisioning and registration. */
export interface BootstrapStats {
  /** bootstrap_register accepted (the device is awaiting claim, or owed its provision). */
  accepted: number;
  /** Refused: no claim intent, bad signature, stale, key mismatch, malformed. */
  refused: number;
  /** Over the per-address rate: dropped unanswered (one rate_limited error per socket). */
  dropped: number;
  /** Other frames from a socket that only made first contact (nothing stored). */
  notRegistered: number;
  keyMismatch: number;
  expired: number;
  provisionsSent: number;
  provisionsAcked: number;
  /** register / re_register refused by the registration gate (join_required). */
  joinRefused: number;
  /** bootstrap_register refused because the awaiting table is full (bootstrap_full). */
  full: number;
  /** Expired rows deleted after their retention. */
  purged: number;
}

/** A claim of a device awaiting it (provisioning.ts). */
export interface ClaimRequest {
  device: BootstrapDeviceRow;
  /** "app:<uuid>" of the signer. */
  claimedBy: string;
  parent: AppRow;
  appId: string;
  appName: string;
  roleRefs: string[];
  payload: ProvisionPayload;
}

/** `released`: the other keys that presented this MAC under the same parent key, forgotten by the claim. */
export type ClaimOutcome = { ok: true; device: BootstrapDeviceRow; released: string[] } | { ok: false; conflict: string };
