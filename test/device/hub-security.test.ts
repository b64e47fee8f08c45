import { describe, expect, it } from 'vitest';
import { publicKeyObject, privateKeyObject } from '../../gateway/crypto/ed25519.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { signFrame, verifyFrame } from '../../gateway/crypto/frame-signing.js';
import { Device, makeHarness } from '../support/hub-harness.js';

function signedApp(tier: 'signed' | 'full' = 'signed', secure = false) {
  const h = makeHarness();
  const c = h.connect(secure);
  const d = new Device(undefined, tier);
  c.frame(d.register());
  h.commit();
  return { h, c, d };
}

describe('signed tier', () => {
  it('accepts a signed register and signed messages', () => {
    const { h, c, d } = signedApp();
    expect(c.last()).toMatchObject({ type: 'registered', sec_level: 'signed' });
    const serverKey = publicKeyObject(decodePublicKey(h.identity.publicKeyText)!);
    expect(verifyFrame(c.last()!, serverKey)).toBe(true); // the answer is the gateway's own
    c.frame(d.message({ temp: 21.5 }));
    h.commit();
    expect(c.last()).toEqual({ type: 'ack', seq: 1, app_id: d.appId });
    expect(h.store.getApp(d.appId)?.sec_level).toBe('signed');
  });

  it('refuses an unsigned message, a tampered payload, a frame moved to another app; stores none of them', () => {
    const { h, c, d } = signedApp();
    const other = new Device(undefined, 'signed');
    c.frame(other.register());
    h.commit();
    const unsigned = { ...(d.message({ a: 1 }) as object), sig: null };
    const tampered = { ...(d.message({ a: 2 }) as Record<string, unknown>), payload: { a: 3 } };
    const moved = { ...(d.message({ a: 4 }) as Record<string, unknown>), app_id: other.appId };
    for (const f of [unsigned, tampered, moved]) c.frame(f);
    h.commit();
    expect(c.ofType('error').map((e) => e.code)).toEqual(['tier_mismatch', 'bad_signature', 'bad_signature']);
    expect(h.store.messages(d.appId)).toEqual([]);
    expect(h.store.messages(other.appId)).toEqual([]);
  });

  it('refuses a register whose signature does not cover its key, and a replayed register', () => {
    const h = makeHarness();
    const d = new Device(undefined, 'signed');
    const impostor = new Device(undefined, 'signed');
    const c = h.connect();
    // signed by another key than the one it presents
    c.frame(signFrame({ ...(d.register() as Record<string, unknown>), sig: undefined }, privateKeyObject(impostor.keys.secretKey)));
    expect(c.last()).toMatchObject({ type: 'error', code: 'bad_signature' });
    const reg = d.register();
    c.frame(reg);
    h.commit();
    c.drop();
    h.commit();
    const c2 = h.connect();
    c2.frame(reg); // the same bytes again
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'error', code: 'stale_timestamp' });
  });

  it('refuses a register with a timestamp outside the skew window', () => {
    const h = makeHarness();
    const d = new Device(undefined, 'signed', null, Date.UTC(2026, 10, 22, 11)); // an hour behind
    const c = h.connect();
    c.frame(d.register());
    expect(c.last()).toMatchObject({ type: 'error', code: 'stale_timestamp' });
  });

  it('never accepts a signed app unsigned: not by register, not by re_register, not by disconnect', () => {
    const { h, c, d } = signedApp();
    c.drop();
    h.commit();
    let c2 = h.connect();
    const openTwin = new Device(d.appId, 'open');
    Object.assign(openTwin, { keys: d.keys, pubKey: d.pubKey });
    c2.frame(openTwin.register());
    // Refused for good, and the socket carried nothing else: closed with the final code.
    expect(c2.closed).toEqual({ code: 4426, reason: `tier_mismatch ${d.appId}` });
    const c3 = h.connect();
    c3.frame({ type: 're_register', app_id: d.appId, last_seq: 0, pub_key: d.pubKey, sig: null });
    expect(c3.sent).toEqual([]); // a repeat refusal to this address is held (refusal-pacer.ts)
    h.clock.advance(500);
    expect([...c2.ofType('error'), ...c3.ofType('error')].map((e) => e.code)).toEqual(['tier_mismatch', 'tier_mismatch']);
    expect(c3.closed?.code).toBe(4426);
    c2 = h.connect();
    c2.frame(d.reRegister());
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'registered' });
    c2.frame({ type: 'disconnect', app_id: d.appId, reason: 'completed', sig: null });
    expect(c2.last()).toMatchObject({ type: 'error', code: 'tier_mismatch' });
    expect(h.store.getApp(d.appId)?.status).toBe('running');
  });

  it('refuses a register for an app_id that another key owns', () => {
    const { h, d } = signedApp();
    const thief = new Device(d.appId, 'signed');
    const c = h.connect();
    c.frame(thief.register());
    expect(c.closed).toEqual({ code: 4403, reason: `app_owned ${d.appId}` });
    const c2 = h.connect();
    c2.frame(thief.reRegister());
    h.clock.advance(500);
    expect([...c.ofType('error'), ...c2.ofType('error')].map((e) => e.code)).toEqual(['app_owned', 'app_owned']);
    expect(c2.closed?.code).toBe(4403);
    expect(h.store.getApp(d.appId)?.pub_key).toBe(d.pubKey);
    h.commit();
    const alerts = h.events.filter((e) => e.type === 'alert');
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toMatchObject({ kind: 'key_mismatch', app_id: d.appId, presented_key: thief.pubKey, pinned_key: d.pubKey });
    expect(h.store.auditLog({ target_app_id: d.appId }).map((a) => a.outcome)).toEqual(['refused:app_owned', 'refused:app_owned']);
  });

  it('signs every control frame with the gateway key, over the target app and correlation id', async () => {
    const { h, c, d } = signedApp();
    const { correlationId } = h.hub.controls.send({ appId: d.appId, action: 'reconfig', payload: { rate: 5 }, origin: 'admin' });
    h.commit();
    const ctl = c.ofType('control')[0]!;
    expect(ctl).toMatchObject({ app_id: d.appId, action: 'reconfig', correlation_id: correlationId, payload: { rate: 5 } });
    const serverKey = publicKeyObject(decodePublicKey(h.identity.publicKeyText)!);
    expect(verifyFrame(ctl, serverKey)).toBe(true);
    expect(verifyFrame({ ...ctl, app_id: crypto.randomUUID() }, serverKey)).toBe(false);
    expect(verifyFrame({ ...ctl, correlation_id: 'x' }, serverKey)).toBe(false);
  });

  it('enforces the minimum tier configured for the gateway', () => {
    const h = makeHarness({ minSecLevel: 'signed' });
    const c = h.connect();
    c.frame(new Device().register());
    expect(c.last()).toMatchObject({ type: 'error', code: 'tier_mismatch' });
  });
});

describe('full tier', () => {
  it('requires a TLS connection', () => {
    const plain = signedApp('full', false);
    expect(plain.c.last()).toMatchObject({ type: 'error', code: 'tier_requires_tls' });
    const tls = signedApp('full', true);
    expect(tls.c.last()).toMatchObject({ type: 'registered', sec_level: 'full' });
  });
});

describe('rotation of a device key (rotate_keys with newDeviceKey)', () => {
  it('takes the old key until effectiveAfter, the new one from then on, both within a minute of the switch', () => {
    const { h, c, d } = signedApp();
    c.drop();
    h.commit();
    const successor = new Device(d.appId, 'signed', null, h.clock.now() + 10);
    const at = h.clock.now() + 10 * 60_000;
    h.store.transaction((w) => w.updateApp(d.appId, { metadata_json: { key_rotation: { new_pub_key: successor.pubKey, effective_after: new Date(at).toISOString() } } }));
    const early = h.connect();
    early.frame(successor.reRegister());
    h.commit();
    expect(early.last()).toMatchObject({ type: 'error', code: 'app_owned' }); // not yet
    h.clock.advance(10 * 60_000 + 61_000);
    const late = h.connect();
    const newcomer = new Device(d.appId, 'signed', null, h.clock.now());
    Object.assign(newcomer, { keys: successor.keys, pubKey: successor.pubKey });
    late.frame(newcomer.reRegister());
    h.commit();
    expect(late.last()).toMatchObject({ type: 'registered', app_id: d.appId });
    expect(h.store.getApp(d.appId)).toMatchObject({ pub_key: successor.pubKey, metadata_json: null });
    late.drop();
    h.commit();
    const old = h.connect();
    const oldAgain = new Device(d.appId, 'signed', null, h.clock.now() + 5);
    Object.assign(oldAgain, { keys: d.keys, pubKey: d.pubKey });
    old.frame(oldAgain.reRegister());
    expect(old.last()).toMatchObject({ type: 'error', code: 'app_owned' }); // the old key is over
  });
});
