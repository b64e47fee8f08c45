/**
 * The bootstrap tier in the hub, with in-memory twins: first contact, the
 * gates in front of it (rate per address, proof of possession, timestamps,
 * MAC format, the pin made at claim, claim intent, budgets), expiry and retention, and the provision on the
 * bootstrap socket up to the full register with the pinned key.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { publicKeyObject } from '../../gateway/crypto/ed25519.js';
import type { GatewayEvent } from '../../gateway/events.js';
import { iso } from '../../gateway/ports/clock.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { verifyFrame } from '../../gateway/crypto/frame-signing.js';
import { FakeConnection, makeHarness, type Harness } from '../support/hub-harness.js';
import { BootDevice } from './support/boot-device.js';

const PARENT_KEY = 'ed25519:' + Buffer.alloc(32, 7).toString('base64');
const PARENT_APP = '11111111-1111-4111-8111-111111111111';

let h: Harness;

function connectFrom(remote: string): FakeConnection {
  const c = new FakeConnection(h.hub, false, remote);
  h.hub.onOpen(c);
  return c;
}

function intent(expiresInMs = 600_000, key = PARENT_KEY): void {
  h.store.transaction((w) => w.putClaimIntent({ parent_pub_key: key, app_id: PARENT_APP, created_at: iso(h.clock.now()), expires_at: iso(h.clock.now() + expiresInMs) }));
}

/** A fresh device that made first contact from `remote` (committed); its socket is `c`. */
function firstContact(remote = '10.0.0.5'): { d: BootDevice; c: FakeConnection } {
  const d = device();
  const c = connectFrom(remote);
  c.frame(d.bootstrapRegister());
  h.commit();
  return { d, c };
}

function device(): BootDevice {
  return new BootDevice(PARENT_KEY, undefined, h.clock.now());
}

const serverVerifies = (f: object): boolean => verifyFrame(f, publicKeyObject(decodePublicKey(h.identity.publicKeyText)!));
const alerts = (): Array<Extract<GatewayEvent, { type: 'alert' }>> => h.events.filter((e): e is Extract<GatewayEvent, { type: 'alert' }> => e.type === 'alert');

beforeEach(() => {
  h = makeHarness({ bootstrapTtlMs: 60_000 });
  h.store.transaction((w) => w.insertApp({ app_id: PARENT_APP, parent_id: null, app_name: 'home-hub', status: 'running', namespace: 'home', pub_key: PARENT_KEY, sec_level: 'signed' }));
});

describe('bootstrap_register', () => {
  it('with an active intent: stored awaiting claim, answered bootstrap_pending signed by the gateway key, the socket stays open', () => {
    intent();
    const d = device();
    const c = connectFrom('10.0.0.5');
    c.frame(d.bootstrapRegister({ device_info: { chip: 'ESP32-S3', mac: d.mac.toLowerCase(), firmware: 'v1.0.3', flash_id: 'c84017' } }));
    h.commit();
    const pending = c.last() as unknown as { type: string; child_pub_key: string; expires_at: number; sig: string };
    expect(pending.type).toBe('bootstrap_pending');
    expect(pending.child_pub_key).toBe(d.pubKey);
    expect(pending.expires_at).toBe(h.clock.now() + 60_000);
    expect(serverVerifies(pending)).toBe(true);
    expect(h.store.getBootstrapDevice(d.pubKey)).toMatchObject({
      mac: d.mac, chip: 'ESP32-S3', firmware: 'v1.0.3', flash_id: 'c84017', parent_pub_key: PARENT_KEY, status: 'awaiting',
      remote: '10.0.0.5', first_seen: iso(h.clock.now()), expires_at: iso(h.clock.now() + 60_000), claimed_app_id: null,
    });
    // No app registers on this socket, yet the 30 s registration timer must not close it.
    h.clock.advance(31_000);
    expect(c.closed).toBeUndefined();
    expect(h.hub.bootstrap.stats.accepted).toBe(1);
  });

  it('without an intent (none, or expired): no_claim_intent, closed 4005, nothing stored', () => {
    const d = device();
    const c = connectFrom('10.0.0.5');
    c.frame(d.bootstrapRegister());
    expect(c.ofType('error').map((e) => e.code)).toEqual(['no_claim_intent']);
    expect(c.closed?.code).toBe(4005);
    intent(1000);
    h.clock.advance(1000);
    const c2 = connectFrom('10.0.0.5');
    c2.frame(device().bootstrapRegister());
    h.commit();
    expect(c2.closed?.code).toBe(4005);
    expect(h.store.listBootstrapDevices()).toEqual([]);
    expect(h.hub.bootstrap.stats.refused).toBe(2);
  });

  it('refuses a bad signature, a stale timestamp, a bad MAC and a malformed key, storing nothing', () => {
    intent();
    const d = device();
    const forged = { ...d.bootstrapRegister(), parent_pub_key: 'ed25519:' + Buffer.alloc(32, 9).toString('base64') };
    const cases: Array<[object, string]> = [
      [forged, 'bad_signature'],
      [d.bootstrapRegister({ timestamp: h.clock.now() - 301_000 }), 'stale_timestamp'],
      [d.bootstrapRegister({ device_info: { chip: 'x', mac: 'AA:BB:CC:DD:EE', firmware: 'v', flash_id: 'f' } }), 'bad_frame'],
      [d.bootstrapRegister({ device_info: { chip: 'x', mac: 'GG:BB:CC:DD:EE:FF', firmware: 'v', flash_id: 'f' } }), 'bad_frame'],
      [d.bootstrapRegister({ child_pub_key: 'ed25519:AAAA' }), 'bad_frame'],
      [d.bootstrapRegister({ app_id: PARENT_APP }), 'bad_frame'],
    ];
    for (const [frame, code] of cases) {
      const c = connectFrom('10.0.0.5');
      c.frame(frame);
      h.commit();
      expect(c.ofType('error').map((e) => e.code)).toEqual([code]);
    }
    expect(h.store.listBootstrapDevices()).toEqual([]);
  });

  it('frames other than bootstrap_register from an unclaimed device: not_registered, counted, nothing stored', () => {
    intent();
    const { d, c } = firstContact();
    const appId = '22222222-2222-4222-8222-222222222222';
    c.frame(d.sign({ type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: h.clock.now(), seq: 1, correlation_id: null }, payload: { t: 1 } }));
    c.frame(d.sign({ type: 'register', app_id: appId, parent_id: PARENT_APP, app_name: 'x', child_pub_key: d.pubKey, sec_level: 'signed', timestamp: h.clock.now() + 5 }));
    c.frame(d.controlResponse(appId, 'nope'));
    h.commit();
    expect(c.ofType('error').map((e) => [e.code, e.app_id])).toEqual([
      ['not_registered', appId],
      ['not_registered', appId],
      ['unknown_correlation', appId],
    ]);
    expect(h.hub.bootstrap.stats.notRegistered).toBe(2);
    expect(h.store.getApp(appId)).toBeUndefined();
    expect(h.store.messages(appId)).toEqual([]);
  });

  it('a flood from one address is dropped and counted (one rate_limited per socket); another address is not disturbed', () => {
    intent();
    const flood = Array.from({ length: 26 }, () => connectFrom('10.6.6.6'));
    flood.forEach((c) => c.frame(device().bootstrapRegister()));
    const again = flood[25]!;
    again.frame(device().bootstrapRegister());
    const other = connectFrom('10.0.0.7');
    const legit = device();
    other.frame(legit.bootstrapRegister());
    h.commit();
    const pendings = flood.filter((c) => c.ofType('bootstrap_pending' as never).length === 1);
    expect(pendings).toHaveLength(20);
    const limited = flood.filter((c) => c.ofType('error').some((e) => e.code === 'rate_limited'));
    expect(limited).toHaveLength(6);
    expect(again.ofType('error').filter((e) => e.code === 'rate_limited')).toHaveLength(1);
    expect(h.hub.bootstrap.stats.dropped).toBe(7);
    expect(h.store.listBootstrapDevices({ status: 'awaiting' })).toHaveLength(21);
    expect(h.store.getBootstrapDevice(legit.pubKey)?.remote).toBe('10.0.0.7');
    expect((other.last() as { type: string }).type).toBe('bootstrap_pending');
    // 10 a minute refill: after 6 s one more from the flooding address gets through.
    h.clock.advance(6_000);
    const later = connectFrom('10.6.6.6');
    later.frame(device().bootstrapRegister());
    h.commit();
    expect((later.last() as { type: string }).type).toBe('bootstrap_pending');
  });

  it('an unclaimed device expires after the TTL: status expired, socket closed 4007; it may come back and is re-armed', () => {
    intent(3_600_000);
    const { d, c } = firstContact();
    h.clock.advance(59_000);
    h.commit();
    expect(c.closed).toBeUndefined();
    h.clock.advance(1_000);
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)?.status).toBe('expired');
    expect(c.closed?.code).toBe(4007);
    expect(h.hub.bootstrap.stats.expired).toBe(1);
    const c2 = connectFrom('10.0.0.5');
    c2.frame(d.bootstrapRegister());
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)).toMatchObject({ status: 'awaiting', expires_at: iso(h.clock.now() + 60_000) });
  });
});

describe('pins (made at claim, scoped to the claiming parent key)', () => {
  const STRANGER_KEY = 'ed25519:' + Buffer.alloc(32, 9).toString('base64');
  const STRANGER_APP = '22222222-2222-4222-8222-222222222222';

  async function claimOf(d: BootDevice, appId: string, parentApp = PARENT_APP, parentKey = PARENT_KEY) {
    const payload = { appId, parentId: parentApp, appName: 'x', serverEp: null, parentPubKey: parentKey, serverPubKey: h.identity.publicKeyText, secLevel: 'signed' as const, roleRefs: [], childPubKey: d.pubKey };
    const p = h.hub.bootstrap.claim({ device: h.store.getBootstrapDevice(d.pubKey)!, claimedBy: `app:${parentApp}`, parent: h.store.getApp(parentApp)!, appId, appName: 'x', roleRefs: [], payload });
    h.commit();
    return p;
  }

  it('the found attack: a stranger who takes the MAC first under its own parent key, and even claims it, never blocks the owner', async () => {
    h.store.transaction((w) => w.insertApp({ app_id: STRANGER_APP, parent_id: null, app_name: 'stranger', status: 'running', pub_key: STRANGER_KEY, sec_level: 'signed' }));
    intent(600_000, STRANGER_KEY);
    intent();
    const victim = device();
    const thief = new BootDevice(STRANGER_KEY, victim.mac, h.clock.now());
    connectFrom('10.6.6.6').frame(thief.bootstrapRegister());
    h.commit();
    expect((await claimOf(thief, '66666666-6666-4666-8666-666666666666', STRANGER_APP, STRANGER_KEY)).ok).toBe(true);
    const real = connectFrom('10.0.0.5');
    real.frame(victim.bootstrapRegister());
    h.commit();
    expect((real.last() as { type: string }).type).toBe('bootstrap_pending');
    expect(real.closed).toBeUndefined();
    expect((await claimOf(victim, '77777777-7777-4777-8777-777777777777')).ok).toBe(true);
    expect(real.ofType('control').map((f) => f.action)).toEqual(['provision']);
    expect(h.store.pinnedBootstrapDevice(victim.mac, PARENT_KEY)?.child_pub_key).toBe(victim.pubKey);
    expect(h.store.pinnedBootstrapDevice(victim.mac, STRANGER_KEY)?.child_pub_key).toBe(thief.pubKey);
    expect(alerts()).toEqual([]);
  });

  it('before a claim several keys may present one MAC; the claim pins one, forgets the rivals, and refuses any other key after', async () => {
    intent();
    const d = device();
    const rival = new BootDevice(PARENT_KEY, d.mac, h.clock.now());
    const c1 = connectFrom('10.0.0.5');
    c1.frame(d.bootstrapRegister());
    const c2 = connectFrom('10.9.9.9');
    c2.frame(rival.bootstrapRegister());
    h.commit();
    expect(h.store.bootstrapDevicesByMac(d.mac).map((r) => r.status)).toEqual(['awaiting', 'awaiting']);
    const out = await claimOf(d, '88888888-8888-4888-8888-888888888888');
    expect(out).toMatchObject({ ok: true, released: [rival.pubKey] });
    expect(h.store.getBootstrapDevice(rival.pubKey)).toBeUndefined();
    expect(c2.closed?.code).toBe(4403);
    // A third key with the owner's parent key and the pinned MAC: key_mismatch, audited and alerted, nothing stored.
    const clone = new BootDevice(PARENT_KEY, d.mac, h.clock.now());
    const c3 = connectFrom('10.9.9.8');
    c3.frame(clone.bootstrapRegister());
    h.commit();
    expect(c3.ofType('error').map((e) => e.code)).toEqual(['key_mismatch']);
    expect(c3.closed?.code).toBe(4403);
    expect(h.store.getBootstrapDevice(clone.pubKey)).toBeUndefined();
    const audit = h.store.auditLog().find((a) => a.outcome === 'refused:key_mismatch')!;
    expect(audit).toMatchObject({ action: 'bootstrap_register', auth_domain: 'device', source_ip: '10.9.9.8', payload_json: { mac: d.mac, presented_key: clone.pubKey, pinned_key: d.pubKey } });
    expect(alerts()).toEqual([expect.objectContaining({ kind: 'key_mismatch', mac: d.mac, presented_key: clone.pubKey, pinned_key: d.pubKey, remote: '10.9.9.8', app_id: '88888888-8888-4888-8888-888888888888' })]);
    expect(h.hub.bootstrap.stats.keyMismatch).toBe(1);
  });

  it('a key that made first contact with one MAC is refused with another (one key is one device)', () => {
    intent();
    const { d } = firstContact();
    const c = connectFrom('10.0.0.6');
    c.frame(d.bootstrapRegister({ device_info: { chip: 'ESP32-S3', mac: 'AA:AA:AA:AA:AA:AA', firmware: 'v1', flash_id: 'x' } }));
    h.commit();
    expect(c.ofType('error').map((e) => e.code)).toEqual(['key_mismatch']);
    expect(h.store.getBootstrapDevice(d.pubKey)?.mac).toBe(d.mac);
  });
});

describe('first-contact budgets', () => {
  it('a full awaiting table answers bootstrap_full and closes 4004, storing nothing; a known device still comes back', () => {
    h = makeHarness({ bootstrapTtlMs: 60_000, bootstrapMaxAwaiting: 3 });
    intent();
    const held = [firstContact('10.0.0.1'), firstContact('10.0.0.2')];
    // Two in the same turn: the uncommitted one counts too.
    const a = connectFrom('10.0.0.3');
    const b = connectFrom('10.0.0.4');
    const da = device();
    const db = device();
    a.frame(da.bootstrapRegister());
    b.frame(db.bootstrapRegister());
    h.commit();
    expect((a.last() as { type: string }).type).toBe('bootstrap_pending');
    expect(b.ofType('error').map((e) => e.code)).toEqual(['bootstrap_full']);
    expect(b.closed?.code).toBe(4004);
    expect(h.store.getBootstrapDevice(db.pubKey)).toBeUndefined();
    expect(h.store.countBootstrapDevices('awaiting')).toBe(3);
    expect(h.hub.bootstrap.stats.full).toBe(1);
    const again = connectFrom('10.0.0.1');
    again.frame(held[0]!.d.bootstrapRegister());
    h.commit();
    expect((again.last() as { type: string }).type).toBe('bootstrap_pending');
  });

  it('a global rate on top of the per-address one: many addresses together are dropped past it', () => {
    h = makeHarness({ bootstrapTtlMs: 60_000, bootstrapGlobalPerMinute: 5 });
    intent();
    const socks = Array.from({ length: 8 }, (_, i) => connectFrom(`10.1.0.${i + 1}`));
    socks.forEach((c) => c.frame(device().bootstrapRegister()));
    h.commit();
    expect(socks.filter((c) => c.ofType('bootstrap_pending' as never).length === 1)).toHaveLength(5);
    const limited = socks.filter((c) => c.ofType('error').some((e) => e.code === 'rate_limited'));
    expect(limited).toHaveLength(3);
    expect(limited[0]!.ofType('error')[0]!.message).toContain('from all addresses');
    expect(h.store.listBootstrapDevices()).toHaveLength(5);
    h.clock.advance(12_000); // 5 a minute: one more after 12 s
    const later = connectFrom('10.1.0.99');
    later.frame(device().bootstrapRegister());
    h.commit();
    expect((later.last() as { type: string }).type).toBe('bootstrap_pending');
  });

  it('expired rows are deleted once their retention has passed', () => {
    h = makeHarness({ bootstrapTtlMs: 60_000, bootstrapRetentionMs: 120_000 });
    intent(3_600_000);
    const { d } = firstContact();
    h.clock.advance(61_000);
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)?.status).toBe('expired');
    h.clock.advance(60_000);
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)?.status).toBe('expired'); // 60 s after expiry: kept
    h.clock.advance(61_000);
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)).toBeUndefined();
    expect(h.hub.bootstrap.stats.purged).toBe(1);
  });
});

describe('claim → provision → register', () => {
  it('delivers a signed provision on the bootstrap socket, records the ack, and admits only the pinned key', async () => {
    intent();
    const { d, c: link } = firstContact();
    const appId = '33333333-3333-4333-8333-333333333333';
    const payload = { appId, parentId: PARENT_APP, appName: 'porch-light', serverEp: null, parentPubKey: PARENT_KEY, serverPubKey: h.identity.publicKeyText, secLevel: 'signed' as const, roleRefs: ['lights'], childPubKey: d.pubKey };
    const claiming = h.hub.bootstrap.claim({ device: h.store.getBootstrapDevice(d.pubKey)!, claimedBy: `app:${PARENT_APP}`, parent: h.store.getApp(PARENT_APP)!, appId, appName: 'porch-light', roleRefs: ['lights'], payload });
    h.commit();
    const out = await claiming;
    expect(out.ok).toBe(true);
    h.commit();
    const provision = link.ofType('control')[0]!;
    expect(provision).toMatchObject({ app_id: appId, action: 'provision', payload, correlation_id: h.store.getBootstrapDevice(d.pubKey)!.provision_correlation_id });
    expect(serverVerifies(provision)).toBe(true);
    expect(h.store.getApp(appId)).toMatchObject({ status: 'scheduled', parent_id: PARENT_APP, pub_key: d.pubKey, sec_level: 'signed', role_refs: ['lights'], namespace: 'home', start_deadline: null });
    expect(h.store.getBootstrapDevice(d.pubKey)).toMatchObject({ status: 'claimed', claimed_app_id: appId, provision_status: 'sent' });

    link.frame(d.controlResponse(appId, provision.correlation_id));
    h.commit();
    expect(h.store.getBootstrapDevice(d.pubKey)?.provision_status).toBe('acked');
    expect(h.hub.bootstrap.stats.provisionsAcked).toBe(1);

    // Someone else's key for the claimed app: refused with an alert, even with a valid signature of its own.
    const other = new BootDevice(PARENT_KEY, undefined, h.clock.now());
    const register = (dev: BootDevice) => dev.sign({ type: 'register', app_id: appId, parent_id: PARENT_APP, app_name: 'porch-light', child_pub_key: dev.pubKey, process_info: null, role_refs: [], sec_level: 'signed', timestamp: h.clock.now() + 100 });
    const bad = h.connect();
    bad.frame(register(other));
    h.commit();
    expect(bad.ofType('error').map((e) => e.code)).toEqual(['key_mismatch']);
    expect(alerts().map((a) => [a.app_id, a.presented_key, a.pinned_key])).toEqual([[appId, other.pubKey, d.pubKey]]);
    expect(h.store.getApp(appId)?.status).toBe('scheduled');

    const good = h.connect();
    good.frame(register(d));
    h.commit();
    expect(good.ofType('registered')[0]).toMatchObject({ app_id: appId, sec_level: 'signed' });
    expect(h.store.getApp(appId)).toMatchObject({ status: 'connected', pub_key: d.pubKey });
  });

  it('a device claimed while offline gets its provision when it next makes first contact, intent or not', async () => {
    intent(10_000);
    const d = device();
    const first = connectFrom('10.0.0.5');
    first.frame(d.bootstrapRegister());
    h.commit();
    first.drop();
    const appId = '44444444-4444-4444-8444-444444444444';
    const payload = { appId, parentId: PARENT_APP, appName: 'n', serverEp: null, parentPubKey: PARENT_KEY, serverPubKey: h.identity.publicKeyText, secLevel: 'signed' as const, roleRefs: [], childPubKey: d.pubKey };
    const claiming = h.hub.bootstrap.claim({ device: h.store.getBootstrapDevice(d.pubKey)!, claimedBy: `app:${PARENT_APP}`, parent: h.store.getApp(PARENT_APP)!, appId, appName: 'n', roleRefs: [], payload });
    h.commit();
    expect((await claiming).ok).toBe(true);
    expect(h.store.getBootstrapDevice(d.pubKey)?.provision_status).toBe('queued');
    h.clock.advance(20_000); // the intent is gone by now
    const back = connectFrom('10.0.0.5');
    back.frame(d.bootstrapRegister());
    h.commit();
    expect(back.ofType('control').map((f) => [f.action, f.app_id])).toEqual([['provision', appId]]);
    // A second claim of a claimed device loses inside the write, too.
    const again = await (async () => {
      const p = h.hub.bootstrap.claim({ device: h.store.getBootstrapDevice(d.pubKey)!, claimedBy: `app:${PARENT_APP}`, parent: h.store.getApp(PARENT_APP)!, appId: '55555555-5555-4555-8555-555555555555', appName: 'n', roleRefs: [], payload });
      h.commit();
      return p;
    })();
    expect(again).toEqual({ ok: false, conflict: `device ${d.mac} is claimed` });
  });
});
