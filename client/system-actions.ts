/**
 * The device side of the system control actions (addendum 0 §A0.3):
 * provision, rotate_keys and migrate. The frames reach here already verified
 * against the gateway keys in force (controls.ts); what is checked here is
 * what the signature cannot tell: that a provision is meant for this very
 * device key (a provision captured from another device's socket is refused),
 * that times and keys make sense. Acting on them is client/bootstrap.ts.
 */
import type { MigratePayload, ProvisionPayload, SystemAction } from '../protocol/bootstrap-frames.js';
import { SYSTEM_ACTIONS } from '../protocol/bootstrap-frames.js';
import type { ControlFrame, JsonValue, SecLevel } from '../protocol/frames.js';
import { SEC_LEVELS } from '../protocol/frames.js';
import { decodePublicKey } from '../protocol/keys.js';
import { isUuid } from '../protocol/parse.js';
import { toWsUrl, validateConfig, type TrailsConfig } from './config.js';
import type { ControlAnswer, SystemActionHook } from './controls.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface RotateKeys {
  newParentPubKey?: string;
  newServerPubKey?: string;
  /** The device makes a new identity key, announces it in its answer, and uses it from effectiveAfter on. */
  newDeviceKey?: boolean;
  effectiveAfter: number;
}

const isKey = (v: unknown): v is string => decodePublicKey(v) !== undefined;
const isEndpoint = (v: unknown): v is string => {
  try {
    return typeof v === 'string' && toWsUrl(v) !== '';
  } catch {
    return false;
  }
};
const fail = <T>(reason: string): Checked<T> => ({ ok: false, reason });

/** A provision for this device: bound to its key (childPubKey) and to the app the frame names. */
export function checkProvision(f: ControlFrame, myKey: string): Checked<ProvisionPayload> {
  const p = f.payload as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return fail('provision payload must be an object');
  if (p.childPubKey !== myKey) return fail('provision is bound to another device key (childPubKey): not for this device');
  if (!isUuid(p.appId) || p.appId.toLowerCase() !== f.app_id.toLowerCase()) return fail('provision appId must be a UUID and the app the control names');
  if (!isUuid(p.parentId)) return fail('provision parentId must be a UUID');
  if (typeof p.appName !== 'string' || p.appName.length === 0) return fail('provision appName must be a non-empty string');
  if (p.serverEp !== null && !isEndpoint(p.serverEp)) return fail('provision serverEp must be a ws/wss/http/https URL or null');
  if (!isKey(p.serverPubKey)) return fail('provision serverPubKey must be an ed25519 key');
  if (p.parentPubKey !== null && !isKey(p.parentPubKey)) return fail('provision parentPubKey must be an ed25519 key or null');
  if (!SEC_LEVELS.includes(p.secLevel as SecLevel) || p.secLevel === 'open') return fail('provision secLevel must be signed or above');
  if (!Array.isArray(p.roleRefs) || !p.roleRefs.every((r) => typeof r === 'string')) return fail('provision roleRefs must be strings');
  return { ok: true, value: p as unknown as ProvisionPayload };
}

/** The full-mode config a provision makes, from the one the device has now (for what the provision leaves unsaid). */
export function configFromProvision(p: ProvisionPayload, current: { serverEp: string; parentPubKey: string }): TrailsConfig {
  return validateConfig({
    v: 1, mode: 'full', appId: p.appId, parentId: p.parentId, appName: p.appName, serverEp: p.serverEp ?? current.serverEp,
    serverPubKey: p.serverPubKey, secLevel: p.secLevel, roleRefs: p.roleRefs, parentPubKey: p.parentPubKey ?? current.parentPubKey,
  });
}

export function checkRotate(payload: JsonValue, now: number, skewMs: number): Checked<RotateKeys> {
  const p = payload as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return fail('rotate_keys payload must be an object');
  const at = typeof p.effectiveAfter === 'string' ? Date.parse(p.effectiveAfter) : NaN;
  if (!Number.isFinite(at)) return fail('effectiveAfter must be an ISO 8601 instant');
  // The gateway refuses a past instant; a device whose clock is a little ahead still takes it.
  if (at < now - skewMs) return fail('effectiveAfter is in the past: old and new keys would not overlap');
  if (p.newServerPubKey === undefined && p.newParentPubKey === undefined && p.newDeviceKey !== true) return fail('rotate_keys names no new key');
  if (p.newServerPubKey !== undefined && !isKey(p.newServerPubKey)) return fail('newServerPubKey must be an ed25519 key');
  if (p.newParentPubKey !== undefined && !isKey(p.newParentPubKey)) return fail('newParentPubKey must be an ed25519 key');
  return {
    ok: true,
    value: {
      ...(p.newServerPubKey ? { newServerPubKey: p.newServerPubKey as string } : {}),
      ...(p.newParentPubKey ? { newParentPubKey: p.newParentPubKey as string } : {}),
      ...(p.newDeviceKey === true ? { newDeviceKey: true } : {}),
      effectiveAfter: at,
    },
  };
}

export function checkMigrate(payload: JsonValue): Checked<MigratePayload> {
  const p = payload as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return fail('migrate payload must be an object');
  if (!isEndpoint(p.newServerEp)) return fail('newServerEp must be a ws/wss/http/https URL');
  if (!isKey(p.newServerPubKey)) return fail('newServerPubKey must be an ed25519 key');
  return { ok: true, value: { newServerEp: p.newServerEp, newServerPubKey: p.newServerPubKey } };
}

export interface SystemActionDeps {
  /** The device's current key (it changes with a rotate_keys of the device key). */
  myKey: () => string;
  now: () => number;
  skewMs: number;
  /** Each is called after the checks passed; it answers (ack) and then acts. */
  provision(p: ProvisionPayload, answer: (a: ControlAnswer) => boolean): void;
  rotateKeys(r: RotateKeys, answer: (a: ControlAnswer) => boolean): void;
  migrate(m: MigratePayload, answer: (a: ControlAnswer) => boolean): void;
  /** A system control that failed its checks (answered ack:false, except a provision for another device). */
  refused(action: SystemAction, reason: string): void;
}

/** The hook the TrailsClient's control dispatcher calls before any user handler. */
export class DeviceSystemActions implements SystemActionHook {
  constructor(private readonly d: SystemActionDeps) {}

  handles(action: string): boolean {
    return (SYSTEM_ACTIONS as readonly string[]).includes(action);
  }

  run(f: ControlFrame, answer: (a: ControlAnswer) => boolean): void {
    const action = f.action as SystemAction;
    const refuse = (reason: string, silent = false): void => {
      // A provision meant for another device gets no answer: it was not sent to us.
      if (!silent) answer({ ack: false, error: reason });
      this.d.refused(action, reason);
    };
    if (action === 'provision') {
      const c = checkProvision(f, this.d.myKey());
      return c.ok ? this.d.provision(c.value, answer) : refuse(c.reason, (f.payload as { childPubKey?: unknown } | null)?.childPubKey !== this.d.myKey());
    }
    if (action === 'rotate_keys') {
      const c = checkRotate(f.payload, this.d.now(), this.d.skewMs);
      return c.ok ? this.d.rotateKeys(c.value, answer) : refuse(c.reason);
    }
    const c = checkMigrate(f.payload);
    return c.ok ? this.d.migrate(c.value, answer) : refuse(c.reason);
  }
}
