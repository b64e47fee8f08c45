/**
 * Rows of the bootstrap tier (docs/PROTOCOL.md "Bootstrap and device
 * lifecycle"): devices that made first contact and wait to be claimed, and
 * the claim intents of the parents that may claim them.
 *
 * A first contact pins nothing: a MAC may have several awaiting rows (one
 * per key that presented it), so a stranger's row never locks the owner's
 * device out. The pin is made where the owner is proven, at claim: a
 * claimed row binds (mac, parent_pub_key) to its key, unique among claimed
 * rows, so a pin made under one parent key never blocks a device that
 * presents another.
 */
import type { JsonValue } from '../../protocol/frames.js';

export type BootstrapStatus = 'awaiting' | 'claimed' | 'expired';
export const BOOTSTRAP_STATUSES: readonly BootstrapStatus[] = ['awaiting', 'claimed', 'expired'];

/** Where the provision control of a claim stands: stored, written to the device's socket, or acknowledged. */
export type ProvisionStatus = 'queued' | 'sent' | 'acked';
export const PROVISION_STATUSES: readonly ProvisionStatus[] = ['queued', 'sent', 'acked'];

export interface BootstrapDeviceRow {
  child_pub_key: string;
  /** Upper case, colon separated: AA:BB:CC:DD:EE:FF. */
  mac: string;
  chip: string | null;
  firmware: string | null;
  flash_id: string | null;
  parent_pub_key: string;
  status: BootstrapStatus;
  first_seen: string;
  last_seen: string;
  /** An awaiting device not claimed by then becomes expired. */
  expires_at: string;
  remote: string | null;
  claimed_app_id: string | null;
  claimed_parent_id: string | null;
  /** "app:<uuid>" of the key that signed the claim. */
  claimed_by: string | null;
  claimed_at: string | null;
  /** The provision payload the device is owed (bound to child_pub_key). */
  provision_json: JsonValue | null;
  provision_correlation_id: string | null;
  provision_status: ProvisionStatus | null;
}

export type BootstrapPatch = Partial<Omit<BootstrapDeviceRow, 'child_pub_key' | 'mac' | 'first_seen'>>;

export interface BootstrapFilter {
  status?: BootstrapStatus;
  parent_pub_key?: string;
  limit?: number;
}

/** A parent's signed statement "devices that name my key may make first contact now". */
export interface ClaimIntentRow {
  parent_pub_key: string;
  /** The app whose key it is (the signer of POST /claim-intents). */
  app_id: string;
  created_at: string;
  expires_at: string;
}

export interface BootstrapWriter {
  /** Throws a UNIQUE constraint error when the key or the MAC is already known. */
  insertBootstrapDevice(row: BootstrapDeviceRow): void;
  updateBootstrapDevice(childPubKey: string, patch: BootstrapPatch): void;
  /** Forgets a device (and so its pin); false when there was none. */
  deleteBootstrapDevice(childPubKey: string): boolean;
  /** Awaiting devices whose expires_at is at or before `now` become expired; returns their keys. */
  expireBootstrapDevices(now: string): string[];
  /** Deletes expired devices whose expires_at is at or before `before` (retention); returns how many. */
  deleteExpiredBootstrapDevices(before: string): number;
  /** One intent per parent key: a new one replaces the old. */
  putClaimIntent(row: ClaimIntentRow): void;
  deleteClaimIntent(parentPubKey: string): boolean;
}

export interface BootstrapReader {
  getBootstrapDevice(childPubKey: string): BootstrapDeviceRow | undefined;
  /** Every row that presented this MAC (under this parent key when given), oldest first. */
  bootstrapDevicesByMac(mac: string, parentPubKey?: string): BootstrapDeviceRow[];
  /** The claimed row that pins (mac, parentPubKey) to a key, if any. */
  pinnedBootstrapDevice(mac: string, parentPubKey: string): BootstrapDeviceRow | undefined;
  countBootstrapDevices(status: BootstrapStatus): number;
  bootstrapDeviceByApp(appId: string): BootstrapDeviceRow | undefined;
  /** Oldest first. */
  listBootstrapDevices(filter?: BootstrapFilter): BootstrapDeviceRow[];
  getClaimIntent(parentPubKey: string): ClaimIntentRow | undefined;
}

/** Every column of bootstrap_devices, in table order. */
export const BOOTSTRAP_COLUMNS = [
  'child_pub_key', 'mac', 'chip', 'firmware', 'flash_id', 'parent_pub_key', 'status', 'first_seen', 'last_seen',
  'expires_at', 'remote', 'claimed_app_id', 'claimed_parent_id', 'claimed_by', 'claimed_at', 'provision_json',
  'provision_correlation_id', 'provision_status',
] as const satisfies ReadonlyArray<keyof BootstrapDeviceRow>;
