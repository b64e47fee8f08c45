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
import type { JsonValue } from '../protocol/frames.js';
import type { AppRow, ControlRow } from '../store/types.js';

export type Departure = Record<string, JsonValue>;

/** The metadata to merge when an acked control means the device is leaving; undefined otherwise. */
export function plannedDeparture(row: Pick<ControlRow, 'action' | 'payload_json'>, at: string): Departure | undefined {
  const p = asObject(row.payload_json);
  if (row.action === 'migrate') return { migrated_to: p.newServerEp ?? null, migrated_at: at };
  if (row.action === 'provision') return { provisioned_to: p.serverEp ?? null, provisioned_at: at };
  return undefined;
}

export function mergeMetadata(app: Pick<AppRow, 'metadata_json'> | undefined, extra: Departure): Departure {
  return { ...asObject(app?.metadata_json ?? null), ...extra };
}

export function asObject(v: JsonValue | null): Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
