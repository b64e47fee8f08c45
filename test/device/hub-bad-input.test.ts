import { describe, expect, it } from 'vitest';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('bad input gets a typed error and stores nothing', () => {
  const cases: Array<[string, string | object, string]> = [
    ['malformed JSON', '{"type":', 'invalid_json'],
    ['a JSON array', '[1,2]', 'bad_frame'],
    ['no type', { app_id: crypto.randomUUID() }, 'bad_frame'],
    ['unknown type', { type: 'subscribe', app_id: crypto.randomUUID() }, 'unknown_type'],
    ['invalid UUID', { type: 'register', app_id: 'not-a-uuid', parent_id: null, app_name: 'x', child_pub_key: 'ed25519:x' }, 'bad_frame'],
    ['missing app_name', { type: 'register', app_id: crypto.randomUUID(), parent_id: null, child_pub_key: 'ed25519:x' }, 'bad_frame'],
    ['mistyped role_refs', { type: 'register', app_id: crypto.randomUUID(), parent_id: null, app_name: 'x', child_pub_key: 'ed25519:x', role_refs: 'admin' }, 'bad_frame'],
    ['bad sec_level', { type: 'register', app_id: crypto.randomUUID(), parent_id: null, app_name: 'x', child_pub_key: 'ed25519:x', sec_level: 'max' }, 'bad_frame'],
    ['message without header', { type: 'message', app_id: crypto.randomUUID(), payload: {} }, 'bad_frame'],
    ['message with seq 0', { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Status', seq: 0, timestamp: 1 }, payload: {} }, 'bad_frame'],
    ['message with string seq', { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Status', seq: '1', timestamp: 1 }, payload: {} }, 'bad_frame'],
    ['unknown msg_type', { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Control', seq: 1, timestamp: 1 }, payload: {} }, 'bad_frame'],
    ['message without payload', { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Status', seq: 1, timestamp: 1 } }, 'bad_frame'],
    ['message before register', { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Status', seq: 1, timestamp: 1 }, payload: {} }, 'not_registered'],
    ['disconnect before register', { type: 'disconnect', app_id: crypto.randomUUID(), reason: 'x' }, 'not_registered'],
    ['register under an unknown parent', { type: 'register', app_id: crypto.randomUUID(), parent_id: crypto.randomUUID(), app_name: 'x', child_pub_key: 'ed25519:x' }, 'unknown_parent'],
    ['re_register of an unknown app', { type: 're_register', app_id: crypto.randomUUID(), last_seq: 0, pub_key: 'ed25519:x' }, 'registration_failed'],
    ['signed register with a malformed key', { type: 'register', app_id: crypto.randomUUID(), parent_id: null, app_name: 'x', child_pub_key: 'ed25519:short', sec_level: 'signed', sig: 'ed25519:AA==' }, 'bad_frame'],
  ];

  for (const [name, frame, code] of cases) {
    it(name, () => {
      const h = makeHarness();
      const c = h.connect();
      c.frame(frame);
      h.commit();
      expect(c.last()).toMatchObject({ type: 'error', code });
      expect(h.store.listApps()).toEqual([]);
      expect(c.closed).toBeUndefined();
    });
  }

  it('binary frames are refused on the JSON tiers', () => {
    const h = makeHarness();
    const c = h.connect();
    h.hub.onBinary(c);
    expect(c.last()).toMatchObject({ type: 'error', code: 'bad_frame' });
  });

  it('a terminal app takes no more data, and cannot be re-registered', () => {
    const h = makeHarness();
    const d = new Device();
    const c = h.connect();
    c.frame(d.register());
    c.frame(d.message({}, 'Result'));
    h.commit();
    for (const frame of [d.register(), d.reRegister()]) {
      const c2 = h.connect();
      c2.frame(frame);
      // The second refusal of the app to this address is held 500 ms (refusal-pacer.ts).
      h.clock.advance(500);
      expect(c2.ofType('error').map((e) => e.code)).toEqual(['app_terminal']);
      // Final: the socket carried nothing else, so it closes with 4410 naming the app.
      expect(c2.closed).toEqual({ code: 4410, reason: `app_terminal ${d.appId}` });
    }
  });

  it('a bad frame never disturbs other devices on other connections', () => {
    const h = makeHarness();
    const good = new Device();
    const g = h.connect();
    g.frame(good.register());
    const b = h.connect();
    for (let i = 0; i < 50; i++) b.frame('garbage');
    g.frame(good.message({ ok: true }));
    h.commit();
    expect(g.last()).toEqual({ type: 'ack', seq: 1, app_id: good.appId });
  });
});

describe('connection limits', () => {
  it('closes a connection that does not register in time with 4001', () => {
    const h = makeHarness({ registrationTimeoutMs: 30_000 });
    const idle = h.connect();
    const registered = h.connect();
    registered.frame(new Device().register());
    h.commit();
    h.clock.advance(30_001);
    expect(idle.closed).toEqual({ code: 4001, reason: 'no registration in time' });
    expect(registered.closed).toBeUndefined();
  });

  it('closes a connection that keeps sending bad frames with 4002', () => {
    const h = makeHarness({ maxErrors: 10 });
    const c = h.connect();
    for (let i = 0; i < 11; i++) c.frame('nope');
    expect(c.closed?.code).toBe(4002);
  });

  it('rate-limits a flooding connection, answers once, then closes it with 4003; others keep flowing', () => {
    const h = makeHarness({ rate: 10, burst: 20, maxRateLimited: 50 });
    const flood = new Device();
    const f = h.connect();
    f.frame(flood.register());
    h.commit();
    const calm = new Device();
    const c = h.connect();
    c.frame(calm.register());
    h.commit();
    for (let i = 0; i < 30; i++) f.frame(flood.message({ i }));
    h.commit();
    expect(f.ofType('ack')).toHaveLength(19); // the burst, less the register
    for (let i = 0; i < 60; i++) f.frame(flood.message({ i }));
    expect(f.ofType('error').filter((e) => e.code === 'rate_limited')).toHaveLength(1);
    expect(f.closed?.code).toBe(4003);
    expect(h.store.messages(flood.appId)).toHaveLength(19);
    c.frame(calm.message({ fine: true }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'ack', seq: 1 });
  });

  it('a store that fails the commit gets storage_unavailable and no ack; nothing is half-stored', () => {
    const h = makeHarness();
    const d = new Device();
    const c = h.connect();
    c.frame(d.register());
    h.commit();
    const realBatch = h.store.batch.bind(h.store);
    const realTx = h.store.transaction.bind(h.store);
    const diskError = (): never => {
      throw new Error('disk I/O error');
    };
    h.store.batch = diskError;
    h.store.transaction = diskError;
    c.frame(d.message({ lost: false }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'storage_unavailable', seq: 1 });
    expect(c.ofType('ack')).toEqual([]);
    h.store.batch = realBatch;
    h.store.transaction = realTx;
    expect(h.store.messages(d.appId)).toEqual([]);
  });
});
