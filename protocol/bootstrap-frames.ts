/**
 * Frames and payloads of the bootstrap tier and the system control actions
 * (docs/PROTOCOL.md "Bootstrap and device lifecycle"). Shared by the gateway
 * and the TypeScript device client. Validation here is pure, like parse.ts,
 * which calls validateBootstrapRegister for the one new client frame.
 */
import type { JsonValue, SecLevel } from './values.js';

/** What a factory-fresh device says about itself at first contact. */
export interface DeviceInfo {
  chip: string;
  /** Six bytes, upper-case hex, colon separated: AA:BB:CC:DD:EE:FF. */
  mac: string;
  firmware: string;
  flash_id: string;
}

/** The first frame of a bootstrap socket, signed by the device key (proof of possession). */
export interface BootstrapRegisterFrame {
  type: 'bootstrap_register';
  /** Never set: the device has no app yet. Present so code that reads ClientFrame.app_id still compiles. */
  app_id?: undefined;
  child_pub_key: string;
  /** The parentPubKey burned into the device: whose claim it will accept. */
  parent_pub_key: string;
  device_info: DeviceInfo;
  timestamp: number;
  sig: string;
}

/** The gateway's answer: held as "awaiting claim" until expires_at (ms). Signed by the gateway key. */
export interface BootstrapPendingFrame {
  type: 'bootstrap_pending';
  child_pub_key: string;
  expires_at: number;
  sig?: string;
}

export const MAC_PATTERN = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

// ── system control actions ────────────────────────────────────────────

export const SYSTEM_ACTIONS = ['provision', 'rotate_keys', 'migrate'] as const;
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];

/**
 * A new config for the device (spec A0.3). childPubKey binds it to one
 * device key: a device refuses a provision that names another key, so a
 * captured provision cannot be replayed to a second device.
 */
export interface ProvisionPayload {
  appId: string;
  parentId: string;
  appName: string;
  /** Null: keep the endpoint the device uses now. */
  serverEp: string | null;
  /** Null: keep the parent key the device has (a re-parent to an app with no key here). */
  parentPubKey: string | null;
  serverPubKey: string;
  secLevel: SecLevel;
  roleRefs: string[];
  childPubKey: string;
  [key: string]: JsonValue;
}

/** Old keys stay valid until effectiveAfter (ISO 8601), the new ones from then on. */
export interface RotateKeysPayload {
  newParentPubKey?: string;
  newServerPubKey?: string;
  effectiveAfter: string;
  [key: string]: JsonValue | undefined;
}

export interface MigratePayload {
  newServerEp: string;
  newServerPubKey: string;
  [key: string]: JsonValue;
}

export function validateBootstrapRegister(o: Record<string, unknown>, fail: (message: string) => never): BootstrapRegisterFrame {
  const text = (v: unknown, name: string, max: number): string => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(`"${name}" must be a string of 1 to ${max} characters`);
    return v as string;
  };
  const info = o.device_info;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('"device_info" must be an object {chip, mac, firmware, flash_id}');
  const d = info as Record<string, unknown>;
  const mac = text(d.mac, 'device_info.mac', 17).toUpperCase();
  if (!MAC_PATTERN.test(mac)) fail('"device_info.mac" must be six hex bytes separated by colons, like AA:BB:CC:DD:EE:FF');
  if ('app_id' in o && o.app_id != null) fail('"app_id" is not part of bootstrap_register: the device has no app until it is claimed');
  const ts = o.timestamp;
  if (!Number.isSafeInteger(ts) || (ts as number) < 0) fail('"timestamp" must be epoch milliseconds');
  return {
    type: 'bootstrap_register',
    child_pub_key: text(o.child_pub_key, 'child_pub_key', 128),
    parent_pub_key: text(o.parent_pub_key, 'parent_pub_key', 128),
    device_info: { chip: text(d.chip, 'device_info.chip', 64), mac, firmware: text(d.firmware, 'device_info.firmware', 64), flash_id: text(d.flash_id, 'device_info.flash_id', 64) },
    timestamp: ts as number,
    sig: text(o.sig, 'sig', 256),
  };
}
