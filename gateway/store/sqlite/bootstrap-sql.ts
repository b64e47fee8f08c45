/**
 * SQLite side of the bootstrap tier: the migration text and the statements
 * behind BootstrapReader/BootstrapWriter. SqliteStore and SqliteWriter only
 * delegate here, to keep both files about the data path.
 */
import type Database from 'better-sqlite3';
import type { JsonValue } from '../../../protocol/frames.js';
import type { BootstrapDeviceRow, BootstrapStatus, BootstrapFilter, BootstrapPatch, BootstrapReader, BootstrapWriter, ClaimIntentRow } from '../bootstrap-types.js';
import { BOOTSTRAP_COLUMNS } from '../bootstrap-types.js';
import { jsonText, limitOf, parseJson } from './rows.js';

type Q = (sql: string) => Database.Statement;
type Raw = Record<string, unknown>;

/**
 * Migration v5. mac is UNIQUE: that index is the trust-on-first-use pin (one
 * key per MAC). claimed_app_id is UNIQUE where set: one device per app. No
 * foreign key to apps: the record of a first contact outlives its app.
 */
export const BOOTSTRAP_MIGRATION = `
CREATE TABLE bootstrap_devices (
  child_pub_key            TEXT PRIMARY KEY,
  mac                      TEXT NOT NULL,
  chip                     TEXT,
  firmware                 TEXT,
  flash_id                 TEXT,
  parent_pub_key           TEXT NOT NULL,
  status                   TEXT NOT NULL CHECK (status IN ('awaiting', 'claimed', 'expired')),
  first_seen               TEXT NOT NULL,
  last_seen                TEXT NOT NULL,
  expires_at               TEXT NOT NULL,
  remote                   TEXT,
  claimed_app_id           TEXT,
  claimed_parent_id        TEXT,
  claimed_by               TEXT,
  claimed_at               TEXT,
  provision_json           TEXT,
  provision_correlation_id TEXT,
  provision_status         TEXT CHECK (provision_status IS NULL OR provision_status IN ('queued', 'sent', 'acked'))
) WITHOUT ROWID;
CREATE UNIQUE INDEX idx_bootstrap_mac ON bootstrap_devices(mac);
CREATE UNIQUE INDEX idx_bootstrap_app ON bootstrap_devices(claimed_app_id) WHERE claimed_app_id IS NOT NULL;
CREATE INDEX idx_bootstrap_expiry ON bootstrap_devices(status, expires_at);

CREATE TABLE claim_intents (
  parent_pub_key TEXT PRIMARY KEY,
  app_id         TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  expires_at     TEXT NOT NULL
) WITHOUT ROWID;
`;

/**
 * Migration v10: the pin moves from first contact to the claim, and is
 * scoped to the parent key that claims (docs/PROTOCOL.md "Pins"). A MAC may
 * have several unclaimed rows; among claimed rows (mac, parent_pub_key) is
 * unique.
 */
export const BOOTSTRAP_PINS_MIGRATION = `
DROP INDEX idx_bootstrap_mac;
CREATE INDEX idx_bootstrap_mac ON bootstrap_devices(mac, parent_pub_key);
CREATE UNIQUE INDEX idx_bootstrap_pin ON bootstrap_devices(mac, parent_pub_key) WHERE status = 'claimed';
`;

const PATCHABLE: ReadonlySet<string> = new Set(BOOTSTRAP_COLUMNS.filter((c) => c !== 'child_pub_key' && c !== 'mac' && c !== 'first_seen'));
const INSERT = `INSERT INTO bootstrap_devices (${BOOTSTRAP_COLUMNS.join(', ')}) VALUES (${BOOTSTRAP_COLUMNS.map(() => '?').join(', ')})`;

function encode(col: string, v: unknown): unknown {
  return col === 'provision_json' ? jsonText(v as JsonValue | null) : (v ?? null);
}

export function deviceFromRow(r: Raw): BootstrapDeviceRow {
  const out = {} as Record<string, unknown>;
  for (const c of BOOTSTRAP_COLUMNS) out[c] = c === 'provision_json' ? parseJson(r[c]) : (r[c] ?? null);
  return out as unknown as BootstrapDeviceRow;
}

/** The columns a patch sets; unknown keys throw, since their names end up in SQL text. */
export function bootstrapPatchEntries(patch: BootstrapPatch): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (!PATCHABLE.has(k)) throw new Error(`cannot patch column bootstrap_devices.${k}`);
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

export class SqliteBootstrapReader implements BootstrapReader {
  constructor(private readonly q: Q) {}

  getBootstrapDevice(childPubKey: string): BootstrapDeviceRow | undefined {
    const r = this.q('SELECT * FROM bootstrap_devices WHERE child_pub_key = ?').get(childPubKey) as Raw | undefined;
    return r && deviceFromRow(r);
  }

  bootstrapDevicesByMac(mac: string, parentPubKey?: string): BootstrapDeviceRow[] {
    const rows = parentPubKey === undefined
      ? this.q('SELECT * FROM bootstrap_devices WHERE mac = ? ORDER BY first_seen, child_pub_key').all(mac)
      : this.q('SELECT * FROM bootstrap_devices WHERE mac = ? AND parent_pub_key = ? ORDER BY first_seen, child_pub_key').all(mac, parentPubKey);
    return (rows as Raw[]).map(deviceFromRow);
  }

  pinnedBootstrapDevice(mac: string, parentPubKey: string): BootstrapDeviceRow | undefined {
    const r = this.q(`SELECT * FROM bootstrap_devices WHERE mac = ? AND parent_pub_key = ? AND status = 'claimed'`).get(mac, parentPubKey) as Raw | undefined;
    return r && deviceFromRow(r);
  }

  countBootstrapDevices(status: BootstrapStatus): number {
    return this.q('SELECT count(*) FROM bootstrap_devices WHERE status = ?').pluck().get(status) as number;
  }

  bootstrapDeviceByApp(appId: string): BootstrapDeviceRow | undefined {
    const r = this.q('SELECT * FROM bootstrap_devices WHERE claimed_app_id = ?').get(appId) as Raw | undefined;
    return r && deviceFromRow(r);
  }

  listBootstrapDevices(filter: BootstrapFilter = {}): BootstrapDeviceRow[] {
    const conds: string[] = [];
    const args: unknown[] = [];
    if (filter.status !== undefined) (conds.push('status = ?'), args.push(filter.status));
    if (filter.parent_pub_key !== undefined) (conds.push('parent_pub_key = ?'), args.push(filter.parent_pub_key));
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
    const rows = this.q(`SELECT * FROM bootstrap_devices ${where} ORDER BY first_seen, child_pub_key LIMIT ?`).all(...args, limitOf(filter.limit));
    return (rows as Raw[]).map(deviceFromRow);
  }

  getClaimIntent(parentPubKey: string): ClaimIntentRow | undefined {
    return this.q('SELECT * FROM claim_intents WHERE parent_pub_key = ?').get(parentPubKey) as ClaimIntentRow | undefined;
  }
}

export class SqliteBootstrapWriter implements BootstrapWriter {
  constructor(private readonly q: Q) {}

  insertBootstrapDevice(row: BootstrapDeviceRow): void {
    this.q(INSERT).run(...BOOTSTRAP_COLUMNS.map((c) => encode(c, row[c])));
  }

  updateBootstrapDevice(childPubKey: string, patch: BootstrapPatch): void {
    const entries = bootstrapPatchEntries(patch);
    if (entries.length === 0) return;
    const sql = `UPDATE bootstrap_devices SET ${entries.map(([c]) => `${c} = ?`).join(', ')} WHERE child_pub_key = ?`;
    this.q(sql).run(...entries.map(([c, v]) => encode(c, v)), childPubKey);
  }

  deleteBootstrapDevice(childPubKey: string): boolean {
    return this.q('DELETE FROM bootstrap_devices WHERE child_pub_key = ?').run(childPubKey).changes === 1;
  }

  expireBootstrapDevices(now: string): string[] {
    const keys = this.q(`SELECT child_pub_key FROM bootstrap_devices WHERE status = 'awaiting' AND expires_at <= ? ORDER BY expires_at, child_pub_key`)
      .pluck()
      .all(now) as string[];
    if (keys.length > 0) this.q(`UPDATE bootstrap_devices SET status = 'expired' WHERE status = 'awaiting' AND expires_at <= ?`).run(now);
    return keys;
  }

  deleteExpiredBootstrapDevices(before: string): number {
    return this.q(`DELETE FROM bootstrap_devices WHERE status = 'expired' AND expires_at <= ?`).run(before).changes;
  }

  putClaimIntent(row: ClaimIntentRow): void {
    this.q(
      `INSERT INTO claim_intents (parent_pub_key, app_id, created_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (parent_pub_key) DO UPDATE SET app_id = excluded.app_id, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    ).run(row.parent_pub_key, row.app_id, row.created_at, row.expires_at);
  }

  deleteClaimIntent(parentPubKey: string): boolean {
    return this.q('DELETE FROM claim_intents WHERE parent_pub_key = ?').run(parentPubKey).changes === 1;
  }
}
