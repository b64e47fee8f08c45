/** Options and per-connection state of the bootstrap tier (bootstrap.ts), shared with hub-types.ts. */
import type { KeyObject } from 'node:crypto';

export interface BootstrapOptions {
  /** An unclaimed device is held this long, then expired and its socket closed (4007). */
  bootstrapTtlMs: number;
  /** bootstrap_register frames per minute per remote address, and the burst above it. */
  bootstrapPerMinute: number;
  bootstrapBurst: number;
  /** Default life of a claim intent. */
  claimIntentTtlMs: number;
}

export const DEFAULT_BOOTSTRAP_OPTIONS: BootstrapOptions = {
  bootstrapTtlMs: 3_600_000,
  bootstrapPerMinute: 10,
  bootstrapBurst: 20,
  claimIntentTtlMs: 3_600_000,
};

/** A socket that made first contact: it carries one device key and no app. */
export interface BootstrapLink {
  readonly childPubKey: string;
  readonly key: KeyObject;
  /** Last accepted signed timestamp on this link (replay window of its control_response). */
  lastAuthTs: number;
}
