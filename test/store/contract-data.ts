/**
 * Second half of the store contract (registered from contract.ts): gaps,
 * crashes, controls, audit, scheduling, meta, transactions, batch, copies.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { GatewayStore, NewAudit, NewCrash } from '../../gateway/store/types.js';
import { NESTED, T0, app, control, iso, msg, seed, uuid } from './fixtures.js';

const A = uuid(1);
const B = uuid(2);

const crash = (appId: string, s: number, over: Partial<NewCrash> = {}): NewCrash => ({
  app_id: appId, detected_at: iso(s), crash_type: 'heartbeat_timeout', gap_seconds: null, metadata_json: null, ...over,
});
const audit = (s: number, over: Partial<NewAudit> = {}): NewAudit => ({
  timestamp: iso(s), action: 'cancel', target_app_id: A, cascade: false, payload_json: null, auth_domain: 'external',
  source_app_id: null, oauth_subject: 'user:ada', source_ip: '192.0.2.1', user_agent: 'curl/8', outcome: 'ok', ...over,
});

export function dataContract(s: () => GatewayStore): void {
  beforeEach(() => seed(s(), (w) => (w.insertApp(app(A, { created_at: iso(0) })), w.insertApp(app(B, { created_at: iso(1) })))));

  describe('seq gaps', () => {
    it('lists gaps by from_seq and shrinks, splits or removes the one containing seq', () => {
      const store = s();
      seed(store, (w) => {
        w.insertSeqGap({ app_id: A, from_seq: 20, to_seq: 20, detected_at: iso(2) });
        w.insertSeqGap({ app_id: A, from_seq: 5, to_seq: 9, detected_at: iso(1) });
        w.insertSeqGap({ app_id: B, from_seq: 5, to_seq: 9, detected_at: iso(1) });
      });
      const gaps = () => store.seqGaps(A).map((g) => [g.from_seq, g.to_seq]);
      expect(gaps()).toEqual([[5, 9], [20, 20]]);
      expect(store.transaction((w) => w.fillSeqGap(A, 5))).toBe(true);
      expect(gaps()).toEqual([[6, 9], [20, 20]]);
      expect(store.transaction((w) => w.fillSeqGap(A, 9))).toBe(true);
      expect(gaps()).toEqual([[6, 8], [20, 20]]);
      expect(store.transaction((w) => w.fillSeqGap(A, 7))).toBe(true);
      expect(gaps()).toEqual([[6, 6], [8, 8], [20, 20]]);
      expect(store.seqGaps(A).every((g) => g.detected_at === (g.from_seq === 20 ? iso(2) : iso(1)))).toBe(true);
      expect(store.transaction((w) => w.fillSeqGap(A, 20))).toBe(true);
      expect(store.transaction((w) => w.fillSeqGap(A, 7))).toBe(false);
      expect(store.transaction((w) => w.fillSeqGap(A, 100))).toBe(false);
      expect(gaps()).toEqual([[6, 6], [8, 8]]);
      expect(store.seqGaps(B)).toEqual([{ app_id: B, from_seq: 5, to_seq: 9, detected_at: iso(1) }]);
    });

    it('rejects an inverted gap and a gap for an unknown app', () => {
      const store = s();
      expect(() => seed(store, (w) => w.insertSeqGap({ app_id: A, from_seq: 9, to_seq: 5, detected_at: iso(0) }))).toThrow(
        /constraint failed/,
      );
      expect(() => seed(store, (w) => w.insertSeqGap({ app_id: uuid(9), from_seq: 1, to_seq: 2, detected_at: iso(0) }))).toThrow(
        /constraint failed/,
      );
      expect(store.seqGaps(A)).toEqual([]);
    });
  });

  describe('crashes', () => {
    it('filters by app and since (inclusive), newest first, with a limit', () => {
      const store = s();
      seed(store, (w) => {
        w.insertCrash(crash(A, 10, { crash_type: 'connection_drop', gap_seconds: 12.5, metadata_json: NESTED }));
        w.insertCrash(crash(A, 30));
        w.insertCrash(crash(B, 20, { crash_type: 'never_started' }));
        w.insertCrash(crash(A, 30, { crash_type: 'never_started' }));
      });
      const first = store.crashes({ app_id: A }).at(-1)!;
      expect(first).toEqual({ id: first.id, ...crash(A, 10, { crash_type: 'connection_drop', gap_seconds: 12.5, metadata_json: NESTED }) });
      expect(store.crashes().map((c) => [c.app_id, c.detected_at, c.crash_type])).toEqual([
        [A, iso(30), 'never_started'], [A, iso(30), 'heartbeat_timeout'], [B, iso(20), 'never_started'], [A, iso(10), 'connection_drop'],
      ]);
      expect(store.crashes({ since: iso(20) })).toHaveLength(3);
      expect(store.crashes({ app_id: A, since: iso(20), limit: 1 })[0]!.crash_type).toBe('never_started');
      expect(store.crashes({ since: iso(31) })).toEqual([]);
      expect(() => seed(store, (w) => w.insertCrash(crash(A, 1, { crash_type: 'oom' as never })))).toThrow(/constraint failed/);
    });
  });

  describe('controls', () => {
    it('inserts with increasing ids, finds by correlation id and applies patches', () => {
      const store = s();
      const [id1, id2] = store.transaction((w) => [w.insertControl(control(A, 'c-1', { payload_json: NESTED })), w.insertControl(control(A, 'c-2'))]);
      expect(id2).toBe(id1 + 1);
      expect(store.getControl('c-1')).toEqual({
        id: id1, ...control(A, 'c-1', { payload_json: NESTED }), sent_at: null, acked_at: null, ack_result_json: null,
      });
      seed(store, (w) => w.updateControl(id1, { status: 'sent', sent_at: iso(5) }));
      seed(store, (w) => w.updateControl(id1, { status: 'answered', acked_at: iso(6), ack_result_json: { ok: true, list: ['✓'] } }));
      expect(store.getControl('c-1')).toMatchObject({
        status: 'answered', sent_at: iso(5), acked_at: iso(6), ack_result_json: { ok: true, list: ['✓'] }, action: 'cancel',
      });
      expect(store.getControl('nope')).toBeUndefined();
      expect(() => seed(store, (w) => w.insertControl(control(B, 'c-1')))).toThrow(/constraint failed/);
      expect(() => seed(store, (w) => w.insertControl(control(uuid(9), 'c-9')))).toThrow(/constraint failed/);
      expect(() => seed(store, (w) => w.updateControl(id2, { status: 'lost' as never }))).toThrow(/constraint failed/);
      expect(() => seed(store, (w) => w.updateControl(id2, { action: 'x' } as never))).toThrow(/action/);
      expect(store.getControl('c-2')?.status).toBe('queued');
    });

    it('pendingControls and expiredControls see only queued and sent ones', () => {
      const store = s();
      const ids = store.transaction((w) => [
        w.insertControl(control(A, 'q', { expires_at: iso(60) })),
        w.insertControl(control(A, 's', { status: 'sent', expires_at: iso(30) })),
        w.insertControl(control(A, 'a', { status: 'answered', expires_at: iso(10) })),
        w.insertControl(control(B, 'b', { expires_at: iso(30) })),
        w.insertControl(control(A, 'e', { status: 'expired', expires_at: iso(10) })),
        w.insertControl(control(A, 'u', { status: 'undeliverable', expires_at: iso(10) })),
      ]);
      expect(store.pendingControls(A).map((c) => c.correlation_id)).toEqual(['q', 's']);
      expect(store.pendingControls(B).map((c) => c.id)).toEqual([ids[3]]);
      expect(store.expiredControls(iso(29))).toEqual([]);
      expect(store.expiredControls(iso(30)).map((c) => c.correlation_id)).toEqual(['s', 'b']);
      expect(store.expiredControls(iso(99)).map((c) => c.correlation_id)).toEqual(['s', 'b', 'q']);
    });
  });

  describe('audit log', () => {
    it('keeps booleans and JSON, filters by target, newest first, with a limit', () => {
      const store = s();
      seed(store, (w) => {
        w.insertAudit(audit(1, { cascade: true, payload_json: NESTED }));
        w.insertAudit(audit(3, { target_app_id: B }));
        w.insertAudit(audit(2, { target_app_id: null, source_app_id: A, oauth_subject: null, auth_domain: 'tree', outcome: 'denied' }));
      });
      const all = store.auditLog();
      expect(all.map((a) => a.timestamp)).toEqual([iso(3), iso(2), iso(1)]);
      expect(all[2]).toEqual({ id: all[2]!.id, count: 1, ...audit(1, { cascade: true, payload_json: NESTED }) });
      expect(all[0]!.cascade).toBe(false);
      expect(all[1]).toMatchObject({ target_app_id: null, source_app_id: A, oauth_subject: null, outcome: 'denied' });
      expect(store.auditLog({ target_app_id: B }).map((a) => a.timestamp)).toEqual([iso(3)]);
      expect(store.auditLog({ limit: 2 })).toHaveLength(2);
    });

    it('a row stands for count events: 1 unless given, never below 1', () => {
      const store = s();
      seed(store, (w) => (w.insertAudit(audit(1)), w.insertAudit(audit(2, { count: 2000 }))));
      expect(store.auditLog().map((a) => a.count)).toEqual([2000, 1]);
      for (const bad of [0, -3]) expect(() => seed(store, (w) => w.insertAudit(audit(3, { count: bad })))).toThrow(/CHECK constraint failed/);
      expect(store.auditLog()).toHaveLength(2);
    });

    it('pruneAudit deletes the oldest rows past the age, then beyond the newest keepRows ids, at most limit a call', () => {
      const store = s();
      seed(store, (w) => {
        for (let i = 1; i <= 10; i++) w.insertAudit(audit(i));
      });
      const left = () => store.auditLog().map((a) => a.timestamp).reverse();
      const prune = (olderThan: string, keepRows: number, limit: number) => store.transaction((w) => w.pruneAudit({ olderThan, keepRows, limit }));
      expect(prune(iso(4), 1000, 2)).toBe(2);
      expect(left()).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map(iso));
      expect(prune(iso(4), 1000, 5)).toBe(1);
      expect(prune(iso(4), 1000, 5)).toBe(0);
      // Now by count: the newest 4 ids stay, three a call.
      expect(prune(iso(0), 4, 3)).toBe(3);
      expect(prune(iso(0), 4, 3)).toBe(0);
      expect(left()).toEqual([7, 8, 9, 10].map(iso));
      expect(prune(iso(0), 4, 0)).toBe(0);
      // Age and count in one call share the limit, age first.
      seed(store, (w) => w.insertAudit(audit(11)));
      expect(prune(iso(8), 2, 10)).toBe(3);
      expect(left()).toEqual([10, 11].map(iso));
    });

    it('a pruned id is never handed out again', () => {
      const store = s();
      seed(store, (w) => (w.insertAudit(audit(1)), w.insertAudit(audit(2))));
      const before = Math.max(...store.auditLog().map((a) => a.id));
      store.transaction((w) => w.pruneAudit({ olderThan: iso(9), keepRows: 0, limit: 10 }));
      seed(store, (w) => w.insertAudit(audit(3)));
      expect(store.auditLog()[0]!.id).toBeGreaterThan(before);
    });
  });

  describe('scheduling and status moves', () => {
    it('overdueScheduled: scheduled apps whose created_at + start_deadline <= now', () => {
      const store = s();
      seed(store, (w) => {
        w.insertApp(app(uuid(3), { status: 'scheduled', created_at: iso(100), start_deadline: 60 }));
        w.insertApp(app(uuid(4), { status: 'scheduled', created_at: iso(0) }));
        w.insertApp(app(uuid(5), { status: 'scheduled', created_at: iso(0), start_deadline: null }));
        w.insertApp(app(uuid(6), { status: 'running', created_at: iso(0), start_deadline: 1 }));
      });
      const ids = (ms: number) => store.overdueScheduled(ms).map((a) => a.app_id);
      expect(ids(T0 + 159_999)).toEqual([]);
      expect(ids(T0 + 160_000)).toEqual([uuid(3)]);
      expect(ids(T0 + 300_000)).toEqual([uuid(4), uuid(3)]);
      expect(store.overdueScheduled(T0 + 10 ** 9)[1]).toEqual(store.getApp(uuid(3)));
    });

    it('moveStatus moves one instance’s apps in the given statuses and returns their ids', () => {
      const store = s();
      seed(store, (w) => {
        w.insertApp(app(uuid(3), { server_instance: 'gw-a', status: 'connected', created_at: iso(3) }));
        w.insertApp(app(uuid(4), { server_instance: 'gw-a', status: 'running', created_at: iso(2) }));
        w.insertApp(app(uuid(5), { server_instance: 'gw-a', status: 'done', created_at: iso(1) }));
        w.insertApp(app(uuid(6), { server_instance: 'gw-b', status: 'running', created_at: iso(1) }));
      });
      const moved = store.transaction((w) => w.moveStatus('gw-a', ['running', 'connected'], 'reconnecting', iso(50)));
      expect(moved).toEqual([uuid(4), uuid(3)]);
      expect(store.getApp(uuid(3))).toMatchObject({ status: 'reconnecting', updated_at: iso(50) });
      expect(store.getApp(uuid(5))?.status).toBe('done');
      expect(store.getApp(uuid(6))?.status).toBe('running');
      expect(store.transaction((w) => w.moveStatus('gw-a', [], 'lost_contact', iso(60)))).toEqual([]);
      expect(store.transaction((w) => w.moveStatus('gw-z', ['running'], 'lost_contact', iso(60)))).toEqual([]);
    });
  });

  describe('meta', () => {
    it('gets undefined, then the value set, then the overwrite', () => {
      const store = s();
      expect(store.getMeta('instance')).toBeUndefined();
      store.setMeta('instance', 'gw-1');
      store.setMeta('emoji', '🚀 ✓');
      store.setMeta('instance', 'gw-2');
      expect(store.getMeta('instance')).toBe('gw-2');
      expect(store.getMeta('emoji')).toBe('🚀 ✓');
    });
  });

  describe('transactions and batch', () => {
    it('transaction returns the value, sees its own writes, and rolls back on a throw', () => {
      const store = s();
      expect(store.transaction((w) => (w.insertMessage(msg(A, 1)), store.messages(A).length))).toBe(1);
      expect(() =>
        store.transaction((w) => {
          w.insertApp(app(uuid(7)));
          w.insertMessage(msg(A, 2));
          w.updateApp(A, { status: 'done' });
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(store.getApp(uuid(7))).toBeUndefined();
      expect(store.messages(A).map((m) => m.seq)).toEqual([1]);
      expect(store.getApp(A)?.status).toBe('running');
    });

    it('a nested transaction that throws rolls back alone when the outer one catches', () => {
      const store = s();
      store.transaction((w) => {
        w.insertMessage(msg(A, 1));
        expect(() => store.transaction((w2) => (w2.insertMessage(msg(A, 2)), w2.insertMessage(msg(A, 1))))).toThrow(/constraint failed/);
        w.insertMessage(msg(A, 3));
      });
      expect(store.messages(A).map((m) => m.seq)).toEqual([1, 3]);
    });

    it('a transaction function may not return a promise', () => {
      const store = s();
      expect(() => store.transaction((w) => (w.insertMessage(msg(A, 1)), Promise.resolve(1)))).toThrow(/promise/);
      expect(store.messages(A)).toEqual([]);
    });

    it('batch isolates a failing op in its slot and commits the others', () => {
      const store = s();
      seed(store, (w) => w.insertMessage(msg(A, 2)));
      const res = store.batch([
        (w) => w.insertMessage(msg(A, 1)),
        (w) => (w.insertMessage(msg(A, 3)), w.insertMessage(msg(A, 2))),
        (w) => w.updateApp(A, { last_seq: 4 }),
        (w) => (w.insertMessage(msg(A, 5)), (() => { throw 'plain string'; })()),
        (w) => w.insertMessage(msg(B, 2)),
      ]);
      expect(res.map((e) => e === undefined)).toEqual([true, false, true, false, true]);
      expect(res[1]).toBeInstanceOf(Error);
      expect(res[1]!.message).toMatch(/constraint failed/);
      expect(res[3]).toBeInstanceOf(Error);
      expect(res[3]!.message).toBe('plain string');
      expect(store.messages(A).map((m) => m.seq)).toEqual([2, 1]);
      expect(store.getApp(A)?.last_seq).toBe(4);
      expect(store.messageBySeq(B, 2)?.app_id).toBe(B);
      expect(store.batch([])).toEqual([]);
    });
  });

  describe('maxSeq and pre-serialised payloads', () => {
    it('maxSeq is the highest incoming seq of the app, 0 when none; outgoing rows do not count', () => {
      const store = s();
      expect(store.maxSeq(A)).toBe(0);
      seed(store, (w) => {
        w.insertMessage(msg(A, 3));
        w.insertMessage(msg(A, 9));
        w.insertMessage(msg(A, 5));
        w.insertMessage(msg(A, 50, { direction: 'out', msg_type: 'Control' }));
        w.insertMessage(msg(B, 70));
      });
      expect(store.maxSeq(A)).toBe(9);
      expect(store.maxSeq(B)).toBe(70);
    });

    it('stores payload_text as given and reads it back as JSON, also as the snapshot', () => {
      const store = s();
      seed(store, (w) => {
        w.insertMessage({ ...msg(A, 1, { payload_json: { t: 1.5 } }), payload_text: '{"t":1.5}' });
      });
      expect(store.messageBySeq(A, 1)?.payload_json).toEqual({ t: 1.5 });
      expect(store.latestSnapshot(A)?.snapshot_json).toEqual({ t: 1.5 });
    });
  });

  describe('isolation of stored values', () => {
    it('values are copied in and out', () => {
      const store = s();
      const payload = { list: [1, 2], inner: { x: 'é' } };
      const groups = ['a'];
      seed(store, (w) => (w.insertMessage(msg(A, 1, { payload_json: payload })), w.insertApp(app(uuid(7), { originator_groups: groups }))));
      payload.list.push(3);
      groups.push('b');
      const m = store.messageBySeq(A, 1)!;
      (m.payload_json as { list: number[] }).list.push(99);
      const a = store.getApp(uuid(7))!;
      a.originator_groups!.push('c');
      a.status = 'done';
      expect(store.messages(A)[0]!.payload_json).toEqual({ list: [1, 2], inner: { x: 'é' } });
      expect(store.getApp(uuid(7))).toMatchObject({ originator_groups: ['a'], status: 'running' });
    });

    it('top-level JSON of every kind round-trips', () => {
      const store = s();
      const bodies = [NESTED, 'ünïcödé 𝄞', 42.25, true, false, [], {}, [null, [{}]], null];
      seed(store, (w) => bodies.forEach((b, i) => w.insertMessage(msg(A, i + 1, { payload_json: b }))));
      expect(store.messages(A).map((m) => m.payload_json)).toEqual(bodies);
    });

    it('refuses use after close', () => {
      const store = s();
      store.close();
      expect(() => store.getApp(A)).toThrow(/not open/);
      expect(() => store.transaction(() => 1)).toThrow(/not open/);
    });
  });
}
