/**
 * Store contract for the bootstrap tier (migrations v5 and v10): bootstrap
 * devices, the pin made at claim and scoped to the claiming parent key (one
 * claimed key per MAC and parent key; first contacts pin nothing), claims
 * (one device per app), expiry and retention, and claim intents.
 */
import { expect, it } from 'vitest';
import type { BootstrapDeviceRow } from '../../gateway/store/bootstrap-types.js';
import type { GatewayStore } from '../../gateway/store/types.js';
import { iso, seed, uuid } from './fixtures.js';

const MAC1 = 'AA:BB:CC:DD:EE:01';
const MAC2 = 'AA:BB:CC:DD:EE:02';
const PARENT = 'ed25519:PARENT';

export function device(key: string, mac: string, over: Partial<BootstrapDeviceRow> = {}): BootstrapDeviceRow {
  return {
    child_pub_key: key, mac, chip: 'ESP32-S3', firmware: 'v1.0.3', flash_id: 'f-1', parent_pub_key: PARENT,
    status: 'awaiting', first_seen: iso(0), last_seen: iso(0), expires_at: iso(3600), remote: '10.0.0.9',
    claimed_app_id: null, claimed_parent_id: null, claimed_by: null, claimed_at: null,
    provision_json: null, provision_correlation_id: null, provision_status: null, ...over,
  };
}

export function bootstrapContract(s: () => GatewayStore): void {
  it('round-trips a device, finds it by key, MAC and app, and lists in first-seen order', () => {
    const a = device('ed25519:A', MAC1, { first_seen: iso(5) });
    const b = device('ed25519:B', MAC2, {
      first_seen: iso(1), status: 'claimed', claimed_app_id: uuid(7), claimed_parent_id: uuid(1), claimed_by: `app:${uuid(1)}`,
      claimed_at: iso(2), provision_json: { appId: uuid(7), roleRefs: ['x'], nested: { ok: true } }, provision_correlation_id: 'c-1', provision_status: 'queued',
    });
    seed(s(), (w) => (w.insertBootstrapDevice(a), w.insertBootstrapDevice(b)));
    expect(s().getBootstrapDevice('ed25519:A')).toEqual(a);
    expect(s().getBootstrapDevice('ed25519:B')).toEqual(b);
    expect(s().bootstrapDevicesByMac(MAC2).map((r) => r.child_pub_key)).toEqual(['ed25519:B']);
    expect(s().bootstrapDevicesByMac(MAC2, 'ed25519:OTHER')).toEqual([]);
    expect(s().pinnedBootstrapDevice(MAC2, PARENT)?.child_pub_key).toBe('ed25519:B');
    expect(s().pinnedBootstrapDevice(MAC1, PARENT)).toBeUndefined(); // awaiting: no pin
    expect(s().countBootstrapDevices('awaiting')).toBe(1);
    expect(s().countBootstrapDevices('claimed')).toBe(1);
    expect(s().countBootstrapDevices('expired')).toBe(0);
    expect(s().bootstrapDeviceByApp(uuid(7))?.mac).toBe(MAC2);
    expect(s().bootstrapDeviceByApp(uuid(8))).toBeUndefined();
    expect(s().listBootstrapDevices().map((r) => r.child_pub_key)).toEqual(['ed25519:B', 'ed25519:A']);
    expect(s().listBootstrapDevices({ status: 'awaiting' }).map((r) => r.mac)).toEqual([MAC1]);
    expect(s().listBootstrapDevices({ parent_pub_key: 'ed25519:OTHER' })).toEqual([]);
    expect(s().listBootstrapDevices({ limit: 1 })).toHaveLength(1);
  });

  it('first contacts pin nothing: several keys may present one MAC, under one parent key or several; a key is one row', () => {
    seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:A', MAC1)));
    seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:EVIL', MAC1, { first_seen: iso(1) })));
    seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:E2', MAC1, { first_seen: iso(2), parent_pub_key: 'ed25519:STRANGER' })));
    expect(() => seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:A', MAC2)))).toThrow(/UNIQUE constraint failed/);
    expect(s().bootstrapDevicesByMac(MAC1).map((r) => r.child_pub_key)).toEqual(['ed25519:A', 'ed25519:EVIL', 'ed25519:E2']);
    expect(s().bootstrapDevicesByMac(MAC1, PARENT).map((r) => r.child_pub_key)).toEqual(['ed25519:A', 'ed25519:EVIL']);
  });

  it('the pin: one claimed key per (MAC, parent key); a claim under another parent key never collides with it', () => {
    const claimed = (n: number) => ({ status: 'claimed' as const, claimed_app_id: uuid(n) });
    seed(s(), (w) => {
      w.insertBootstrapDevice(device('ed25519:A', MAC1, claimed(1)));
      w.insertBootstrapDevice(device('ed25519:B', MAC1));
      w.insertBootstrapDevice(device('ed25519:S', MAC1, { parent_pub_key: 'ed25519:STRANGER', ...claimed(2) }));
    });
    expect(() => seed(s(), (w) => w.updateBootstrapDevice('ed25519:B', claimed(3)))).toThrow(/UNIQUE constraint failed/);
    expect(() => seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:C', MAC1, claimed(4))))).toThrow(/UNIQUE constraint failed/);
    expect(s().getBootstrapDevice('ed25519:B')?.status).toBe('awaiting');
    expect(s().pinnedBootstrapDevice(MAC1, PARENT)?.child_pub_key).toBe('ed25519:A');
    expect(s().pinnedBootstrapDevice(MAC1, 'ed25519:STRANGER')?.child_pub_key).toBe('ed25519:S');
  });

  it('one device per claimed app; an unknown status is refused', () => {
    seed(s(), (w) => {
      w.insertBootstrapDevice(device('ed25519:A', MAC1));
      w.insertBootstrapDevice(device('ed25519:B', MAC2));
      w.updateBootstrapDevice('ed25519:A', { status: 'claimed', claimed_app_id: uuid(9) });
    });
    expect(() => seed(s(), (w) => w.updateBootstrapDevice('ed25519:B', { claimed_app_id: uuid(9) }))).toThrow(/UNIQUE constraint failed/);
    expect(() => seed(s(), (w) => w.updateBootstrapDevice('ed25519:B', { status: 'lost' as never }))).toThrow(/CHECK constraint failed/);
    expect(() => seed(s(), (w) => w.updateBootstrapDevice('ed25519:B', { mac: MAC1 } as never))).toThrow(/cannot patch/);
    expect(s().getBootstrapDevice('ed25519:B')).toMatchObject({ status: 'awaiting', claimed_app_id: null });
  });

  it('expires awaiting devices at their expiry only, and deletes a device (its pin) on request', () => {
    seed(s(), (w) => {
      w.insertBootstrapDevice(device('ed25519:A', MAC1, { expires_at: iso(10) }));
      w.insertBootstrapDevice(device('ed25519:B', MAC2, { expires_at: iso(5), status: 'claimed' }));
      w.insertBootstrapDevice(device('ed25519:C', 'AA:BB:CC:DD:EE:03', { expires_at: iso(20) }));
    });
    expect(s().transaction((w) => w.expireBootstrapDevices(iso(9)))).toEqual([]);
    expect(s().transaction((w) => w.expireBootstrapDevices(iso(10)))).toEqual(['ed25519:A']);
    expect(s().transaction((w) => w.expireBootstrapDevices(iso(10)))).toEqual([]);
    expect(s().getBootstrapDevice('ed25519:A')?.status).toBe('expired');
    expect(s().getBootstrapDevice('ed25519:B')?.status).toBe('claimed');
    expect(s().getBootstrapDevice('ed25519:C')?.status).toBe('awaiting');
    expect(s().transaction((w) => w.deleteBootstrapDevice('ed25519:A'))).toBe(true);
    expect(s().transaction((w) => w.deleteBootstrapDevice('ed25519:A'))).toBe(false);
    seed(s(), (w) => w.insertBootstrapDevice(device('ed25519:NEW', MAC1)));
    expect(s().bootstrapDevicesByMac(MAC1).map((r) => r.child_pub_key)).toEqual(['ed25519:NEW']);
  });

  it('deletes expired devices after their retention only; awaiting and claimed rows stay', () => {
    seed(s(), (w) => {
      w.insertBootstrapDevice(device('ed25519:A', MAC1, { expires_at: iso(10), status: 'expired' }));
      w.insertBootstrapDevice(device('ed25519:B', MAC2, { expires_at: iso(20), status: 'expired' }));
      w.insertBootstrapDevice(device('ed25519:C', MAC1, { expires_at: iso(5) }));
      w.insertBootstrapDevice(device('ed25519:D', MAC2, { expires_at: iso(5), status: 'claimed', claimed_app_id: uuid(3) }));
    });
    expect(s().transaction((w) => w.deleteExpiredBootstrapDevices(iso(9)))).toBe(0);
    expect(s().transaction((w) => w.deleteExpiredBootstrapDevices(iso(10)))).toBe(1);
    expect(s().listBootstrapDevices().map((r) => r.child_pub_key).sort()).toEqual(['ed25519:B', 'ed25519:C', 'ed25519:D']);
    expect(s().transaction((w) => w.deleteExpiredBootstrapDevices(iso(100)))).toBe(1);
    expect(s().countBootstrapDevices('expired')).toBe(0);
  });

  it('keeps one claim intent per parent key; a new one replaces it; a rollback leaves none', () => {
    seed(s(), (w) => w.putClaimIntent({ parent_pub_key: PARENT, app_id: uuid(1), created_at: iso(0), expires_at: iso(60) }));
    seed(s(), (w) => w.putClaimIntent({ parent_pub_key: PARENT, app_id: uuid(1), created_at: iso(30), expires_at: iso(90) }));
    expect(s().getClaimIntent(PARENT)).toEqual({ parent_pub_key: PARENT, app_id: uuid(1), created_at: iso(30), expires_at: iso(90) });
    expect(() =>
      s().transaction((w) => {
        w.putClaimIntent({ parent_pub_key: 'ed25519:P2', app_id: uuid(2), created_at: iso(0), expires_at: iso(60) });
        w.insertBootstrapDevice(device('ed25519:R', MAC2));
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(s().getClaimIntent('ed25519:P2')).toBeUndefined();
    expect(s().getBootstrapDevice('ed25519:R')).toBeUndefined();
    expect(s().transaction((w) => w.deleteClaimIntent(PARENT))).toBe(true);
    expect(s().getClaimIntent(PARENT)).toBeUndefined();
  });
}
