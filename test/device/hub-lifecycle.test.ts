import { describe, expect, it } from 'vitest';
import { DeviceHub } from '../../gateway/device/hub.js';
import { GroupCommitter } from '../../gateway/device/group-commit.js';
import { EventBus } from '../../gateway/events.js';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('device hub: registration and data path', () => {
  it('answers registered and acks only after the group commit', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({ progress: 0.5 }));
    expect(c.sent).toEqual([]); // nothing leaves before the commit
    h.commit();
    expect(c.sent.map((f) => f.type)).toEqual(['registered', 'ack']);
    expect(c.sent[0]).toMatchObject({ app_id: d.appId, server_pub_key: h.identity.publicKeyText, last_seq: 0, sec_level: 'open' });
    expect(c.sent[1]).toEqual({ type: 'ack', seq: 1, app_id: d.appId });
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'running', pub_key: d.pubKey, last_seq: 1, namespace: 'home', server_instance: 'test-gw' });
    expect(h.store.latestSnapshot(d.appId)?.snapshot_json).toEqual({ progress: 0.5 });
  });

  it('Result ends the app as done and closes an idle socket; Error ends it as error', () => {
    const h = makeHarness();
    const c1 = h.connect();
    const ok = new Device();
    c1.frame(ok.register());
    c1.frame(ok.message({ rows: 10 }, 'Result'));
    h.commit();
    expect(h.store.getApp(ok.appId)?.status).toBe('done');
    expect(c1.closed).toEqual({ code: 1000, reason: 'terminal' });

    const c2 = h.connect();
    const bad = new Device();
    c2.frame(bad.register());
    c2.frame(bad.message({ message: 'boom', detail: { row: 3 } }, 'Error'));
    h.commit();
    expect(h.store.getApp(bad.appId)?.status).toBe('error');
    expect(h.store.messages(bad.appId, { msg_type: 'Error' })[0]?.payload_json).toEqual({ message: 'boom', detail: { row: 3 } });
  });

  it('disconnect marks done with disconnected_at and no crash; a drop marks crashed with connection_drop', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({}));
    c.frame(d.disconnect('completed'));
    h.commit();
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'done' });
    expect(h.store.getApp(d.appId)?.disconnected_at).not.toBeNull();
    expect(h.store.crashes({ app_id: d.appId })).toEqual([]);

    const c2 = h.connect();
    const e = new Device();
    c2.frame(e.register());
    c2.frame(e.message({}));
    h.commit();
    c2.drop();
    h.commit();
    expect(h.store.getApp(e.appId)?.status).toBe('crashed');
    expect(h.store.crashes({ app_id: e.appId })[0]?.crash_type).toBe('connection_drop');
  });

  it('multiplexes several app_ids on one connection; one finishing leaves the others running', () => {
    const h = makeHarness();
    const c = h.connect();
    const parent = new Device();
    const child = new Device(undefined, 'open', parent.appId);
    c.frame(parent.register());
    c.frame(child.register());
    c.frame(child.message({ n: 1 }));
    c.frame(parent.message({ n: 1 }));
    c.frame(child.message({ done: true }, 'Result'));
    h.commit();
    expect(c.ofType('ack').map((a) => [a.app_id, a.seq])).toEqual([
      [child.appId, 1],
      [parent.appId, 1],
      [child.appId, 2],
    ]);
    expect(c.closed).toBeUndefined();
    expect(h.store.getApp(child.appId)).toMatchObject({ status: 'done', parent_id: parent.appId });
    expect(h.store.getApp(parent.appId)?.status).toBe('running');
    expect(h.store.children(parent.appId).map((a) => a.app_id)).toEqual([child.appId]);
  });

  it('keys sessions by connection: an old socket closing after a re_register elsewhere does not crash the app', () => {
    const h = makeHarness();
    const old = h.connect();
    const d = new Device();
    old.frame(d.register());
    old.frame(d.message({}));
    h.commit();
    const fresh = h.connect();
    fresh.frame(d.reRegister());
    h.commit();
    old.drop();
    h.commit();
    expect(h.store.getApp(d.appId)?.status).toBe('running');
    expect(h.store.crashes({ app_id: d.appId })).toEqual([]);
    fresh.frame(d.message({ after: true }));
    h.commit();
    expect(fresh.last()).toEqual({ type: 'ack', seq: 2, app_id: d.appId });
  });

  it('re_register brings a crashed app back (the reference refuses it forever)', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({}));
    h.commit();
    c.drop();
    h.commit();
    expect(h.store.getApp(d.appId)?.status).toBe('crashed');
    const c2 = h.connect();
    c2.frame(d.reRegister());
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'registered', last_seq: 1 });
    expect(h.store.getApp(d.appId)?.status).toBe('running');
  });

  it('a gateway restart makes live apps reconnecting, then lost_contact after the window unless they re_register', () => {
    const h = makeHarness({ reconnectWindowMs: 60_000 });
    const a = new Device();
    const b = new Device();
    for (const d of [a, b]) {
      const c = h.connect();
      c.frame(d.register());
      c.frame(d.message({}));
    }
    h.commit();
    h.hub.stop(); // graceful: sockets close 1012, apps keep their live status
    expect(h.store.getApp(a.appId)?.status).toBe('running');

    const events = new EventBus();
    const committer = new GroupCommitter(h.store);
    const hub2 = new DeviceHub({ store: h.store, committer, clock: h.clock, events, identity: h.identity, options: { serverInstance: 'test-gw', reconnectWindowMs: 60_000 } });
    hub2.start();
    expect(h.store.getApp(a.appId)?.status).toBe('reconnecting');
    const conn = { id: 999, remote: 'x', secure: false, sent: [] as unknown[], send(f: unknown) { this.sent.push(f); }, sendBinary() {}, close() {} };
    hub2.onOpen(conn);
    hub2.onText(conn, JSON.stringify(a.reRegister()));
    committer.flush();
    h.clock.advance(60_001);
    committer.flush();
    expect(h.store.getApp(a.appId)?.status).toBe('running');
    expect(h.store.getApp(b.appId)?.status).toBe('lost_contact');
    // lost_contact is not the end: b may still come back
    hub2.onText(conn, JSON.stringify(b.reRegister()));
    committer.flush();
    expect(h.store.getApp(b.appId)?.status).toBe('running');
  });

  it('a scheduled app that never registers becomes start_failed with a never_started crash', () => {
    const h = makeHarness();
    h.store.transaction((w) => w.insertApp({ app_id: crypto.randomUUID(), parent_id: null, app_name: 'late', status: 'scheduled', start_deadline: 5, created_at: new Date(h.clock.now()).toISOString() }));
    const id = h.store.listApps({ status: 'scheduled' })[0]!.app_id;
    h.clock.advance(4_000);
    h.commit();
    expect(h.store.getApp(id)?.status).toBe('scheduled');
    h.clock.advance(2_000);
    h.commit();
    expect(h.store.getApp(id)?.status).toBe('start_failed');
    expect(h.store.crashes({ app_id: id })[0]?.crash_type).toBe('never_started');
  });

  it('a scheduled app that registers in time moves on to connected', () => {
    const h = makeHarness();
    const d = new Device();
    h.store.transaction((w) => w.insertApp({ app_id: d.appId, parent_id: null, app_name: 'declared', status: 'scheduled', start_deadline: 300 }));
    const c = h.connect();
    c.frame(d.register());
    h.commit();
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'connected', app_name: 'declared', pub_key: d.pubKey });
  });

  it('publishes status, message and crash events on the bus', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({ t: 1 }));
    h.commit();
    c.drop();
    h.commit();
    expect(h.events.map((e) => (e.type === 'app_status' ? `status:${e.status}` : e.type))).toEqual(['status:connected', 'message', 'status:running', 'status:crashed', 'crash']);
  });
});

describe('device hub: sequence numbers', () => {
  it('acks a re-sent seq again but stores it once, also across a reconnect', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    const m1 = d.message({ v: 1 });
    c.frame(m1);
    c.frame(m1); // duplicate while the original is still uncommitted
    h.commit();
    expect(c.ofType('ack')).toEqual([
      { type: 'ack', seq: 1, app_id: d.appId },
      { type: 'ack', seq: 1, app_id: d.appId, duplicate: true },
    ]);
    c.drop();
    const c2 = h.connect();
    c2.frame(d.reRegister());
    c2.frame(m1); // re-sent after the reconnect
    h.commit();
    expect(c2.ofType('ack')).toEqual([{ type: 'ack', seq: 1, app_id: d.appId, duplicate: true }]);
    expect(h.store.messages(d.appId)).toHaveLength(1);
  });

  it('records gaps, accepts a late fill once, and refuses regressed or conflicting seqs', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({ v: 1 }, 'Status', 1));
    c.frame(d.message({ v: 5 }, 'Status', 5));
    c.frame(d.message({ v: 3 }, 'Status', 3)); // late fill of the gap 2..4, same tick
    h.commit();
    expect(h.store.seqGaps(d.appId).map((g) => [g.from_seq, g.to_seq])).toEqual([
      [2, 2],
      [4, 4],
    ]);
    c.frame(d.message({ v: 'other' }, 'Status', 3)); // same seq, other payload
    c.frame(d.message({ v: 0 }, 'Status', 0 + 1 + 0 * 1 - 1 + 1)); // seq 1 again with another payload
    h.commit();
    const errors = c.ofType('error').map((e) => [e.code, e.seq]);
    expect(errors).toEqual([
      ['seq_conflict', 3],
      ['seq_conflict', 1],
    ]);
    expect(h.store.messages(d.appId).map((m) => m.seq)).toEqual([1, 5, 3]);
  });

  it('refuses a seq below the high-water mark that was never stored and lies in no gap', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    c.frame(d.message({}, 'Status', 10)); // first message at 10: 1..9 is a gap
    c.frame(d.message({}, 'Status', 11));
    h.commit();
    h.store.transaction((w) => w.fillSeqGap(d.appId, 4)); // simulate: 4 filled earlier
    const c2 = h.connect();
    c.drop();
    c2.frame(d.reRegister());
    h.commit();
    c2.frame(d.message({ late: true }, 'Status', 4));
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'error', code: 'seq_regressed', seq: 4 });
  });
});

describe('group commit', () => {
  it('commits a batch in one transaction, and isolates a failing write when one fails', () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const results: Array<string> = [];
    h.committer.enqueue((w) => w.insertCrash({ app_id: d.appId, detected_at: 'x', crash_type: 'connection_drop', gap_seconds: null, metadata_json: null }), (e) => results.push(e ? 'err' : 'ok'));
    h.committer.enqueue((w) => w.insertCrash({ app_id: 'no-such-app', detected_at: 'x', crash_type: 'connection_drop', gap_seconds: null, metadata_json: null }), (e) => results.push(e ? 'err' : 'ok'));
    h.committer.enqueue((w) => w.insertCrash({ app_id: d.appId, detected_at: 'y', crash_type: 'heartbeat_timeout', gap_seconds: null, metadata_json: null }), (e) => results.push(e ? 'err' : 'ok'));
    h.commit();
    expect(results).toEqual(['ok', 'err', 'ok']);
    expect(h.store.crashes({ app_id: d.appId }).map((x) => x.crash_type).sort()).toEqual(['connection_drop', 'heartbeat_timeout']);
    expect(h.committer.stats).toMatchObject({ commits: 2, writes: 4 });
  });
});

describe('apps.last_seq', () => {
  it('follows the committed seq off the per-frame path, within the sync period, and exactly when the app ends', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    for (let i = 0; i < 3; i++) c.frame(d.message({ i }));
    h.commit();
    expect(h.store.getApp(d.appId)?.last_seq).toBe(1); // written with the connected → running move
    expect(h.store.maxSeq(d.appId)).toBe(3);
    h.clock.advance(5000);
    h.commit();
    expect(h.store.getApp(d.appId)?.last_seq).toBe(3);
    c.frame(d.message({ end: true }, 'Result'));
    h.commit();
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'done', last_seq: 4 });
  });

  it('a re-registering app learns the highest stored seq even when apps.last_seq lags', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register());
    for (let i = 0; i < 7; i++) c.frame(d.message({ i }));
    h.commit();
    c.drop();
    h.commit();
    const c2 = h.connect();
    c2.frame(d.reRegister());
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'registered', last_seq: 7 });
  });
});
