/** State and options shared by the hub's frame handlers. */
import type { KeyObject } from 'node:crypto';
import type { TokenBucket } from '../core/rate-limit.js';
import type { Timer } from '../ports/clock.js';
import type { SecLevel } from '../../protocol/frames.js';
import type { SealedChannel } from '../crypto/sealed.js';
import type { AppStatus } from '../store/types.js';
import type { Connection } from './connection.js';
import type { BootstrapLink, BootstrapOptions } from './bootstrap-types.js';
import { DEFAULT_BOOTSTRAP_OPTIONS } from './bootstrap-types.js';

export interface HubOptions extends BootstrapOptions {
  /** Stable name of this gateway in apps.server_instance (spec §19). */
  serverInstance: string;
  /** Frames a second per connection, and the burst above it. */
  rate: number;
  burst: number;
  /** Error frames a connection may earn before it is closed (4002). */
  maxErrors: number;
  /** Consecutive rate-limited frames before the connection is closed (4003). */
  maxRateLimited: number;
  /** A connection must register within this (4001). */
  registrationTimeoutMs: number;
  /** Signed control-plane frames must carry a timestamp this close to now. */
  timestampSkewMs: number;
  /** Status rows (snapshots) kept per app: those of its last N seqs, so the latest always. */
  snapshotRetention: number;
  /** After a restart, apps have this long to re_register before lost_contact. */
  reconnectWindowMs: number;
  /** Lowest tier accepted at registration. */
  minSecLevel: SecLevel;
  /** Default time a control waits for its device before it expires. */
  controlTtlMs: number;
  /** Apps one connection may carry; a register beyond it is refused with too_many_apps. */
  maxAppsPerConnection: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  serverInstance: 'trails-gateway',
  rate: 500,
  burst: 1000,
  maxErrors: 100,
  maxRateLimited: 200,
  registrationTimeoutMs: 30_000,
  timestampSkewMs: 300_000,
  snapshotRetention: 100,
  reconnectWindowMs: 60_000,
  minSecLevel: 'open',
  controlTtlMs: 300_000,
  maxAppsPerConnection: 64,
  ...DEFAULT_BOOTSTRAP_OPTIONS,
};

/** Per connection. Several apps may share one (spec §18). */
export interface ConnState {
  readonly conn: Connection;
  readonly apps: Set<string>;
  readonly bucket: TokenBucket;
  errors: number;
  rateLimited: number;
  regTimer?: Timer;
  closed: boolean;
  /** The one encrypted app this connection carries (binary frames do not name their app). */
  sealedApp?: string;
  /** Frames waiting, in arrival order, behind one whose signature a worker is still checking. */
  readonly inbox: PendingFrame[];
  /** Set when the socket made first contact (bootstrap_register): it carries a device key, no app. */
  bootstrap?: BootstrapLink;
}

/** Per app that is bound to a live connection. */
export interface LiveApp {
  readonly appId: string;
  readonly parentId: string | null;
  readonly namespace: string | null;
  readonly secLevel: SecLevel;
  readonly pubKeyText: string;
  /** Null in the open tier, where the key is recorded but never used. */
  readonly pubKey: KeyObject | null;
  /** The same key as raw bytes, for the verify workers. */
  readonly pubKeyRaw: Uint8Array | null;
  status: AppStatus;
  /** Highest seq accepted (stored or being stored). */
  highSeq: number;
  /** Highest seq whose row is committed. */
  committedSeq: number;
  /** The value apps.last_seq holds (written when the status moves and by the periodic sync). */
  storedSeq: number;
  lastAuthTs: number;
  /** Seqs accepted but not yet committed, with their payload text (for duplicate checks). */
  readonly uncommitted: Map<number, string>;
  /** Recorded seq gaps (docs/PROTOCOL.md), kept here so a late fill in the same tick is seen. */
  readonly gaps: Array<{ from: number; to: number }>;
  /** Encrypted tier: the session's sealed channel; every other frame of the app travels in it. */
  sealed?: SealedChannel;
  /** Status rows at or below this seq are pruned (snapshot-pruner.ts). */
  prunedTo: number;
  conn: ConnState;
}

/** encrypted and full both sign and both protect the content (end to end, or by TLS): same rank. */
export const SEC_RANK: Record<SecLevel, number> = { open: 0, signed: 1, encrypted: 2, full: 2 };

/** A frame as the device sent it, for signature checks (see parse.ts). */
export type SignedFrame = Record<string, unknown>;

/** A parsed frame in a connection's inbox; `verdict` is the worker's answer for a signed message. */
export interface PendingFrame {
  readonly frame: import('../../protocol/frames.js').ClientFrame;
  readonly raw: SignedFrame;
  verdict: 'sync' | 'pending' | 'valid' | 'invalid';
}
