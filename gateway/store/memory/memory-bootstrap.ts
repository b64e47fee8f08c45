/**
 * MemoryStore's bootstrap tier, mirroring bootstrap-sql.ts: the same unique
 * keys (child_pub_key, claimed_app_id, and (mac, parent_pub_key) among
 * claimed rows: the pin), the same CHECKs and ordering,
 * checked before anything changes so a throw leaves no trace.
 */
import type { BootstrapDeviceRow, BootstrapFilter, BootstrapPatch, BootstrapStatus, ClaimIntentRow } from '../bootstrap-types.js';
import { BOOTSTRAP_COLUMNS, BOOTSTRAP_STATUSES, PROVISION_STATUSES } from '../bootstrap-types.js';
import { bootstrapPatchEntries } from '../sqlite/bootstrap-sql.js';
import { jsonCopy, take } from '../sqlite/rows.js';

export interface BootstrapState {
  bootstrap: Map<string, BootstrapDeviceRow>;
  intents: Map<string, ClaimIntentRow>;
}

function fail(kind: string, what: string): never {
  throw new Error(`${kind} constraint failed: ${what}`);
}

function check(s: BootstrapState, row: BootstrapDeviceRow, replacing?: string): void {
  for (const c of ['child_pub_key', 'mac', 'parent_pub_key', 'status', 'first_seen', 'last_seen', 'expires_at'] as const) {
    if (row[c] == null) fail('NOT NULL', `bootstrap_devices.${c}`);
  }
  if (!BOOTSTRAP_STATUSES.includes(row.status)) fail('CHECK', 'bootstrap_devices.status');
  if (row.provision_status !== null && !PROVISION_STATUSES.includes(row.provision_status)) fail('CHECK', 'bootstrap_devices.provision_status');
  for (const o of s.bootstrap.values()) {
    if (o.child_pub_key === replacing) continue;
    if (row.status === 'claimed' && o.status === 'claimed' && o.mac === row.mac && o.parent_pub_key === row.parent_pub_key) fail('UNIQUE', 'bootstrap_devices.mac, bootstrap_devices.parent_pub_key');
    if (row.claimed_app_id !== null && o.claimed_app_id === row.claimed_app_id) fail('UNIQUE', 'bootstrap_devices.claimed_app_id');
  }
}

function normalise(row: BootstrapDeviceRow): BootstrapDeviceRow {
  const out = {} as Record<string, unknown>;
  for (const c of BOOTSTRAP_COLUMNS) out[c] = row[c] ?? null;
  return jsonCopy(out) as unknown as BootstrapDeviceRow;
}

/** Oldest first (first_seen, then key), as copies. */
function sorted(rows: BootstrapDeviceRow[]): BootstrapDeviceRow[] {
  rows.sort((a, b) => (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : a.child_pub_key < b.child_pub_key ? -1 : 1));
  return jsonCopy(rows);
}

export const bootstrapRead = {
  get: (s: BootstrapState, key: string) => jsonCopy(s.bootstrap.get(key)) ?? undefined,
  byMac: (s: BootstrapState, mac: string, parentPubKey?: string) =>
    sorted([...s.bootstrap.values()].filter((r) => r.mac === mac && (parentPubKey === undefined || r.parent_pub_key === parentPubKey))),
  pinned: (s: BootstrapState, mac: string, parentPubKey: string) =>
    jsonCopy([...s.bootstrap.values()].find((r) => r.status === 'claimed' && r.mac === mac && r.parent_pub_key === parentPubKey)) ?? undefined,
  count: (s: BootstrapState, status: BootstrapStatus) => [...s.bootstrap.values()].filter((r) => r.status === status).length,
  byApp: (s: BootstrapState, appId: string) => jsonCopy([...s.bootstrap.values()].find((r) => r.claimed_app_id === appId)) ?? undefined,
  list(s: BootstrapState, f: BootstrapFilter = {}): BootstrapDeviceRow[] {
    const rows = [...s.bootstrap.values()].filter(
      (r) => (f.status === undefined || r.status === f.status) && (f.parent_pub_key === undefined || r.parent_pub_key === f.parent_pub_key),
    );
    return take(sorted(rows), f.limit);
  },
  intent: (s: BootstrapState, key: string) => jsonCopy(s.intents.get(key)) ?? undefined,
};

export const bootstrapWrite = {
  insert(s: BootstrapState, row: BootstrapDeviceRow): void {
    const r = normalise(row);
    if (s.bootstrap.has(r.child_pub_key)) fail('UNIQUE', 'bootstrap_devices.child_pub_key');
    check(s, r);
    s.bootstrap.set(r.child_pub_key, r);
  },
  update(s: BootstrapState, key: string, patch: BootstrapPatch): void {
    const old = s.bootstrap.get(key);
    const entries = bootstrapPatchEntries(patch);
    if (!old || entries.length === 0) return;
    const r = { ...old, ...jsonCopy(Object.fromEntries(entries)) } as BootstrapDeviceRow;
    check(s, r, key);
    s.bootstrap.set(key, r);
  },
  delete: (s: BootstrapState, key: string): boolean => s.bootstrap.delete(key),
  expire(s: BootstrapState, now: string): string[] {
    const hit = [...s.bootstrap.values()]
      .filter((r) => r.status === 'awaiting' && r.expires_at <= now)
      .sort((a, b) => (a.expires_at < b.expires_at ? -1 : a.expires_at > b.expires_at ? 1 : a.child_pub_key < b.child_pub_key ? -1 : 1));
    for (const r of hit) s.bootstrap.set(r.child_pub_key, { ...r, status: 'expired' });
    return hit.map((r) => r.child_pub_key);
  },
  deleteExpired(s: BootstrapState, before: string): number {
    let n = 0;
    for (const r of [...s.bootstrap.values()]) if (r.status === 'expired' && r.expires_at <= before && s.bootstrap.delete(r.child_pub_key)) n++;
    return n;
  },
  putIntent(s: BootstrapState, row: ClaimIntentRow): void {
    for (const c of ['parent_pub_key', 'app_id', 'created_at', 'expires_at'] as const) if (row[c] == null) fail('NOT NULL', `claim_intents.${c}`);
    s.intents.set(row.parent_pub_key, jsonCopy(row));
  },
  deleteIntent: (s: BootstrapState, key: string): boolean => s.intents.delete(key),
};
