/**
 * The gateway's side of the system control actions (addendum 0 §A0.3,
 * docs/PROTOCOL.md "System control actions"): payload checks shared by the
 * REST routes, and what a device's ack of one means on this gateway.
 *
 * An acked `migrate`, or a `provision` (re-parenting, new config), is a
 * planned departure: the device closes its socket next, on purpose. That
 * close must not count as a crash, so the ack itself moves the app to
 * lost_contact (it may come back, here or elsewhere) with the reason in
 * metadata_json. It is decided when the ack arrives, synchronously, because
 * the close can reach the gateway before the ack's commit has run.
 */
import { decodePublicKey } from '../../protocol/keys.js';
import type { JsonValue } from '../../protocol/frames.js';
import type { AppRow, ControlRow } from '../store/types.js';

export type Departure = Record<string, JsonValue>;

/** The metadata to merge when an acked control means the device is leaving; undefined otherwise. */
export function plannedDeparture(row: Pick<ControlRow, 'action' | 'payload_json'>, at: string): Departure | undefined {
  const p = asObject(row.payload_json);
  if (row.action === 'migrate') return { migrated_to: p.newServerEp ?? null, migrated_at: at };
  if (row.action === 'provision') return { provisioned_to: p.serverEp ?? null, provisioned_at: at };
  return undefined;
}

/**
 * A device's own new key, announced in its answer to rotate_keys with
 * newDeviceKey: kept beside the app (metadata_json.key_rotation) until the
 * device registers with it; undefined when the answer announces none.
 */
export function keyRotation(row: Pick<ControlRow, 'action' | 'payload_json'>, result: JsonValue | undefined): { new_pub_key: string; effective_after: string } | undefined {
  const p = asObject(row.payload_json);
  const r = asObject(result ?? null);
  if (row.action !== 'rotate_keys' || p.newDeviceKey !== true || typeof r.newChildPubKey !== 'string' || typeof p.effectiveAfter !== 'string') return undefined;
  if (!decodePublicKey(r.newChildPubKey)) return undefined;
  return { new_pub_key: r.newChildPubKey, effective_after: p.effectiveAfter };
}

/**
 * Which key a registering device may use during a rotation of its own key:
 * the old one until effectiveAfter, the new one from then on, both within
 * `skewMs` around the switch (no gap for clocks a little apart).
 */
export const KEY_ROTATION_SKEW_MS = 60_000;

/** metadata_json without a finished key rotation. */
export function withoutRotation(meta: JsonValue | null): JsonValue | null {
  return without(meta, ['key_rotation']);
}

/** metadata_json without the marks of a planned departure: the device is back. */
export function withoutDeparture(meta: JsonValue | null): JsonValue | null {
  return without(meta, ['migrated_to', 'migrated_at', 'provisioned_to', 'provisioned_at']);
}

/** Whether metadata_json carries a departure mark (so a return must clear it). */
export function hasDeparture(meta: JsonValue | null): boolean {
  const m = asObject(meta);
  return 'migrated_to' in m || 'provisioned_to' in m;
}

function without(meta: JsonValue | null, keys: string[]): JsonValue | null {
  const rest = { ...asObject(meta) };
  for (const k of keys) delete rest[k];
  return Object.keys(rest).length > 0 ? rest : null;
}

export function keyAllowed(app: Pick<AppRow, 'pub_key' | 'metadata_json'>, presented: string, nowMs: number, skewMs: number): 'current' | 'rotated' | 'no' {
  const rot = asObject(asObject(app.metadata_json ?? null).key_rotation ?? null);
  const next = typeof rot.new_pub_key === 'string' ? rot.new_pub_key : undefined;
  const at = typeof rot.effective_after === 'string' ? Date.parse(rot.effective_after) : NaN;
  if (!next || !Number.isFinite(at)) return presented === app.pub_key ? 'current' : 'no';
  if (presented === app.pub_key) return nowMs <= at + skewMs ? 'current' : 'no';
  if (presented === next) return nowMs >= at - skewMs ? 'rotated' : 'no';
  return 'no';
}

export function mergeMetadata(app: Pick<AppRow, 'metadata_json'> | undefined, extra: Departure): Departure {
  return { ...asObject(app?.metadata_json ?? null), ...extra };
}

export function asObject(v: JsonValue | null): Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
