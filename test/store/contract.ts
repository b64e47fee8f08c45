/**
 * The store contract: every GatewayStore (SQLite and the in-memory twin) must
 * pass it unchanged. Data-path and bookkeeping cases live in contract-data.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppRow, GatewayStore } from '../../gateway/store/types.js';
import { dataContract } from './contract-data.js';
import { nonceContract } from './contract-nonces.js';
import { bootstrapContract } from './contract-bootstrap.js';
import { NESTED, app, between, iso, msg, seed, snap, uuid } from './fixtures.js';

export function storeContract(name: string, make: () => GatewayStore): void {
  describe(`${name}: store contract`, () => {
    let store: GatewayStore;
    beforeEach(() => {
      store = make();
    });
    afterEach(() => {
      store.close();
    });
    const s = (): GatewayStore => store;

    describe('durability', () => {
      it('a deferred commit is readable at once, and whenDurable answers for it (and for nothing pending)', async () => {
        store.transaction((w) => w.insertApp(app(uuid(1))), { deferSync: true });
        expect(store.getApp(uuid(1))?.app_id).toBe(uuid(1));
        const first = await new Promise<Error | undefined>((resolve) => store.whenDurable(resolve));
        expect(first).toBeUndefined();
        const batch = store.batch([(w) => w.insertApp(app(uuid(2))), (w) => w.insertApp(app(uuid(1)))], { deferSync: true });
        expect(batch.map((e) => e === undefined)).toEqual([true, false]);
        const order: number[] = [];
        await new Promise<void>((resolve) => {
          store.whenDurable(() => order.push(1));
          store.whenDurable(() => {
            order.push(2);
            resolve();
          });
        });
        expect(order).toEqual([1, 2]);
        expect(store.getApp(uuid(2))?.app_id).toBe(uuid(2));
      });
    });

    describe('apps', () => {
      it('insertApp fills missing columns with null and the defaults', () => {
        const before = new Date().toISOString();
        seed(store, (w) => w.insertApp(app(uuid(1))));
        const after = new Date().toISOString();
        const a = store.getApp(uuid(1))!;
        expect(a).toMatchObject({
          app_id: uuid(1), parent_id: null, app_name: 'app-0001', status: 'running', namespace: null,
          pod_ip: null, pid: null, originator_groups: null, role_refs: null, metadata_json: null,
          start_deadline: 300, sec_level: null, last_seq: 0, last_auth_ts: 0, server_instance: null,
        });
        expect(a.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(between(a.created_at, before, after)).toBe(true);
        expect(a.updated_at).toBe(a.created_at);
        expect(Object.keys(a)).toHaveLength(29);
      });

      it('round-trips every column, arrays and nested JSON included', () => {
        const full: AppRow = {
          app_id: uuid(2), parent_id: uuid(1), app_name: 'трейнер ✓', namespace: 'ml', pod_name: 'pod-1',
          node_name: 'node-a', pod_ip: '10.0.0.7', pid: 4242, ppid: 1, executable: '/usr/bin/python3',
          proc_uid: 1000, proc_gid: 100, proc_user: 'ada', originator_sub: 'user:ada',
          originator_groups: ['sre', 'ml-team'], pub_key: 'ed25519:abc', status: 'connected',
          start_time: iso(1), connected_at: iso(2), disconnected_at: null, server_instance: 'gw-1',
          role_refs: ['viewer'], metadata_json: NESTED, start_deadline: 30, created_at: iso(0),
          updated_at: iso(3), sec_level: 'full', last_seq: 17, last_auth_ts: 1_790_000_000_000,
        };
        seed(store, (w) => w.insertApp(full));
        expect(store.getApp(uuid(2))).toEqual(full);
      });

      it('keeps an explicit null start_deadline and allows a parent that does not exist', () => {
        seed(store, (w) => w.insertApp(app(uuid(3), { parent_id: uuid(999), start_deadline: null })));
        expect(store.getApp(uuid(3))).toMatchObject({ parent_id: uuid(999), start_deadline: null });
      });

      it('rejects a duplicate app_id and an unknown status, storing nothing', () => {
        seed(store, (w) => w.insertApp(app(uuid(1), { app_name: 'first' })));
        expect(() => seed(store, (w) => w.insertApp(app(uuid(1), { app_name: 'second' })))).toThrow(/constraint failed/);
        expect(() => seed(store, (w) => w.insertApp(app(uuid(2), { status: 'bogus' as never })))).toThrow(
          /constraint failed/,
        );
        expect(store.getApp(uuid(1))?.app_name).toBe('first');
        expect(store.getApp(uuid(2))).toBeUndefined();
      });

      it('updateApp sets only the given columns and bumps updated_at to now', () => {
        seed(store, (w) => w.insertApp(app(uuid(1), { created_at: iso(0), updated_at: iso(0), namespace: 'a' })));
        const before = new Date().toISOString();
        seed(store, (w) => w.updateApp(uuid(1), { status: 'done', last_seq: 9, role_refs: ['x', 'ü'] }));
        const a = store.getApp(uuid(1))!;
        expect(a).toMatchObject({ status: 'done', last_seq: 9, role_refs: ['x', 'ü'], namespace: 'a', created_at: iso(0) });
        expect(a.updated_at >= before).toBe(true);
      });

      it('updateApp takes updated_at from the patch, clears with null, ignores undefined', () => {
        seed(store, (w) => w.insertApp(app(uuid(1), { namespace: 'a', metadata_json: { k: 1 } })));
        seed(store, (w) =>
          w.updateApp(uuid(1), { updated_at: iso(50), namespace: null, metadata_json: NESTED, pod_name: undefined }),
        );
        expect(store.getApp(uuid(1))).toMatchObject({ updated_at: iso(50), namespace: null, metadata_json: NESTED });
        seed(store, (w) => w.updateApp(uuid(1), { updated_at: iso(60) }));
        expect(store.getApp(uuid(1))).toMatchObject({ updated_at: iso(60), namespace: null, status: 'running' });
      });

      it('updateApp rejects unknown columns and is a no-op for an unknown app', () => {
        seed(store, (w) => w.insertApp(app(uuid(1))));
        expect(() => seed(store, (w) => w.updateApp(uuid(1), { nope: 1 } as never))).toThrow(/nope/);
        expect(() => seed(store, (w) => w.updateApp(uuid(1), { app_id: uuid(2) } as never))).toThrow(/app_id/);
        seed(store, (w) => w.updateApp(uuid(9), { status: 'done' }));
        expect(store.getApp(uuid(9))).toBeUndefined();
        expect(store.listApps()).toHaveLength(1);
      });

      it('deleteApp removes the app and its rows, keeping audit rows and child apps', () => {
        seed(store, (w) => {
          w.insertApp(app(uuid(1)));
          w.insertApp(app(uuid(2), { parent_id: uuid(1) }));
          w.insertMessage(msg(uuid(1), 1));
          w.insertCrash({ app_id: uuid(1), detected_at: iso(1), crash_type: 'connection_drop', gap_seconds: null, metadata_json: null });
          w.insertSeqGap({ app_id: uuid(1), from_seq: 2, to_seq: 4, detected_at: iso(1) });
          w.insertControl({ app_id: uuid(1), action: 'cancel', payload_json: null, correlation_id: 'c1', status: 'queued', origin: 'rest', created_at: iso(0), expires_at: iso(9) });
          w.insertAudit({ timestamp: iso(1), action: 'cancel', target_app_id: uuid(1), cascade: false, payload_json: null, auth_domain: 'external', source_app_id: null, oauth_subject: null, source_ip: null, user_agent: null, outcome: 'ok' });
        });
        seed(store, (w) => w.deleteApp(uuid(1)));
        expect(store.getApp(uuid(1))).toBeUndefined();
        expect(store.messages(uuid(1))).toEqual([]);
        expect(store.snapshots(uuid(1))).toEqual([]);
        expect(store.crashes({ app_id: uuid(1) })).toEqual([]);
        expect(store.seqGaps(uuid(1))).toEqual([]);
        expect(store.getControl('c1')).toBeUndefined();
        expect(store.auditLog({ target_app_id: uuid(1) })).toHaveLength(1);
        expect(store.getApp(uuid(2))?.parent_id).toBe(uuid(1));
        // The seq is free again once its row is gone.
        seed(store, (w) => w.insertApp(app(uuid(1))));
        seed(store, (w) => w.insertMessage(msg(uuid(1), 1)));
        expect(store.messageBySeq(uuid(1), 1)?.seq).toBe(1);
      });
    });

    describe('listApps and children', () => {
      it('orders by created_at, ties in insertion order, and filters', () => {
        seed(store, (w) => {
          w.insertApp(app(uuid(3), { created_at: iso(5), namespace: 'b', status: 'done' }));
          w.insertApp(app(uuid(2), { created_at: iso(1), namespace: 'a' }));
          w.insertApp(app(uuid(1), { created_at: iso(1), namespace: 'a', parent_id: uuid(2) }));
          w.insertApp(app(uuid(4), { created_at: iso(0), namespace: 'b', parent_id: uuid(2) }));
        });
        const ids = (rows: AppRow[]) => rows.map((a) => a.app_id);
        expect(ids(store.listApps())).toEqual([uuid(4), uuid(2), uuid(1), uuid(3)]);
        expect(ids(store.listApps({ status: 'running' }))).toEqual([uuid(4), uuid(2), uuid(1)]);
        expect(ids(store.listApps({ namespace: 'b' }))).toEqual([uuid(4), uuid(3)]);
        expect(ids(store.listApps({ parent_id: uuid(2) }))).toEqual([uuid(4), uuid(1)]);
        expect(ids(store.listApps({ parent_id: uuid(2), namespace: 'a', status: 'running' }))).toEqual([uuid(1)]);
        expect(ids(store.listApps({ limit: 2 }))).toEqual([uuid(4), uuid(2)]);
        expect(store.listApps({ status: 'crashed' })).toEqual([]);
      });

      it('children: direct ones, or the subtree breadth-first by depth then created_at', () => {
        const [R, C1, C2, G1, G2, GG, X] = [1, 2, 3, 4, 5, 6, 7].map(uuid) as [string, string, string, string, string, string, string];
        seed(store, (w) => {
          w.insertApp(app(R, { created_at: iso(0) }));
          w.insertApp(app(C1, { parent_id: R, created_at: iso(2) }));
          w.insertApp(app(C2, { parent_id: R, created_at: iso(1) }));
          w.insertApp(app(G1, { parent_id: C2, created_at: iso(5) }));
          w.insertApp(app(G2, { parent_id: C1, created_at: iso(3) }));
          w.insertApp(app(GG, { parent_id: G1, created_at: iso(4) }));
          w.insertApp(app(X, { created_at: iso(1) }));
        });
        const ids = (rows: AppRow[]) => rows.map((a) => a.app_id);
        expect(ids(store.children(R))).toEqual([C2, C1]);
        expect(ids(store.children(R, false))).toEqual([C2, C1]);
        expect(ids(store.children(R, true))).toEqual([C2, C1, G2, G1, GG]);
        expect(ids(store.children(C2, true))).toEqual([G1, GG]);
        expect(store.children(GG, true)).toEqual([]);
        expect(store.children(uuid(99), true)).toEqual([]);
        expect(store.children(R, true)[0]).toEqual(store.getApp(C2));
      });

      it('children survives parent cycles and never returns the root', () => {
        seed(store, (w) => {
          w.insertApp(app(uuid(1), { parent_id: uuid(2), created_at: iso(0) }));
          w.insertApp(app(uuid(2), { parent_id: uuid(1), created_at: iso(1) }));
          w.insertApp(app(uuid(3), { parent_id: uuid(2), created_at: iso(2) }));
          w.insertApp(app(uuid(4), { parent_id: uuid(4), created_at: iso(3) }));
        });
        expect(store.children(uuid(1), true).map((a) => a.app_id)).toEqual([uuid(2), uuid(3)]);
        expect(store.children(uuid(4), true)).toEqual([]);
        expect(store.children(uuid(4))).toEqual([]);
      });
    });

    describe('messages and snapshots', () => {
      const A = uuid(1);
      const B = uuid(2);
      beforeEach(() => seed(s(), (w) => (w.insertApp(app(A, { namespace: 'ns' })), w.insertApp(app(B)))));

      it('lists by id ascending, filters by msg_type, limits, and finds data by seq', () => {
        seed(store, (w) => {
          w.insertMessage(msg(A, 3, { created_at: iso(1) }));
          w.insertMessage(msg(A, 1, { msg_type: 'Result', correlation_id: 'corr-1', payload_json: NESTED }));
          w.insertMessage(msg(A, 1, { direction: 'out', msg_type: 'Control', payload_json: 'cancel' }));
          w.insertMessage(msg(A, 2, { msg_type: 'Error', payload_json: [1, 'two', null] }));
          w.insertMessage(msg(B, 1));
        });
        const all = store.messages(A);
        expect(all.map((m) => [m.seq, m.msg_type, m.direction])).toEqual([
          [3, 'Status', 'in'], [1, 'Result', 'in'], [1, 'Control', 'out'], [2, 'Error', 'in'],
        ]);
        expect(all.map((m) => m.id)).toEqual([...all.map((m) => m.id)].sort((x, y) => x - y));
        expect(all[1]).toEqual({ id: all[1]!.id, app_id: A, direction: 'in', msg_type: 'Result', seq: 1, correlation_id: 'corr-1', payload_json: NESTED, created_at: iso(1) });
        expect(all[2]!.payload_json).toBe('cancel');
        expect(store.messages(A, { msg_type: 'Error' }).map((m) => m.payload_json)).toEqual([[1, 'two', null]]);
        expect(store.messages(A, { limit: 2 }).map((m) => m.seq)).toEqual([3, 1]);
        expect(store.messages(A, { msg_type: 'Status', limit: 5 })).toHaveLength(1);
        expect(store.messageBySeq(A, 1)?.msg_type).toBe('Result');
        expect(store.messageBySeq(A, 9)).toBeUndefined();
        expect(store.messageBySeq(B, 1)?.app_id).toBe(B);
      });

      it('stores a seq once per app and direction; the other direction and other apps may repeat it', () => {
        seed(store, (w) => w.insertMessage(msg(A, 5)));
        expect(() => seed(store, (w) => w.insertMessage(msg(A, 5, { msg_type: 'Result' })))).toThrow(/constraint failed/);
        seed(store, (w) => {
          w.insertMessage(msg(A, 5, { direction: 'out', msg_type: 'Control' }));
          w.insertMessage(msg(B, 5));
        });
        // An outgoing control's seq is its control_queue id: unique as well.
        expect(() => seed(store, (w) => w.insertMessage(msg(A, 5, { direction: 'out', msg_type: 'Control' })))).toThrow(/constraint failed/);
        expect(store.messages(A).map((m) => m.direction)).toEqual(['in', 'out']);
        expect(store.messageBySeq(A, 5)?.msg_type).toBe('Status');
      });

      it('rejects messages for unknown apps and unknown types or directions', () => {
        expect(() => seed(store, (w) => w.insertMessage(msg(uuid(9), 1)))).toThrow(/constraint failed/);
        expect(() => seed(store, (w) => w.insertMessage(msg(A, 1, { msg_type: 'Log' as never })))).toThrow(/constraint failed/);
        expect(() => seed(store, (w) => w.insertMessage(msg(A, 1, { direction: 'up' as never })))).toThrow(/constraint failed/);
        expect(store.messages(A)).toEqual([]);
      });

      it('snapshots are the Status messages, newest first (ties by insertion, newest first), with a limit', () => {
        seed(store, (w) => {
          w.insertMessage(snap(A, 1, 10, { progress: 0.1 }));
          w.insertMessage(snap(A, 3, 30, NESTED));
          w.insertMessage(snap(A, 2, 20, null));
          w.insertMessage(snap(A, 4, 30, [1, 2]));
          w.insertMessage({ ...snap(A, 5, 40), msg_type: 'Result' });
          w.insertMessage({ ...snap(A, 6, 50), direction: 'out' });
          w.insertMessage(snap(B, 1, 99));
        });
        expect(store.snapshots(A).map((x) => x.seq)).toEqual([4, 3, 2, 1]);
        expect(store.snapshots(A, 2).map((x) => x.snapshot_json)).toEqual([[1, 2], NESTED]);
        expect(store.snapshots(A)[2]!.snapshot_json).toBeNull();
        const latest = store.latestSnapshot(A)!;
        expect(latest).toEqual({ id: latest.id, app_id: A, namespace: 'ns', seq: 4, snapshot_json: [1, 2], created_at: iso(30) });
        expect(store.latestSnapshot(B)?.namespace).toBeNull();
        expect(store.latestSnapshot(uuid(9))).toBeUndefined();
        expect(store.snapshots(uuid(9))).toEqual([]);
        expect(() => seed(store, (w) => w.insertMessage(snap(uuid(9), 1, 1)))).toThrow(/constraint failed/);
      });

      it('pruneSnapshots deletes the inbound Status rows of a seq range, never Result/Error/Control', () => {
        seed(store, (w) => {
          for (let i = 1; i <= 5; i++) w.insertMessage(snap(A, i, i));
          w.insertMessage(msg(A, 6, { msg_type: 'Result' }));
          w.insertMessage(msg(A, 7, { msg_type: 'Error' }));
          w.insertMessage(msg(A, 1, { direction: 'out', msg_type: 'Control' }));
          w.insertMessage(msg(A, 2, { direction: 'out', msg_type: 'Status' }));
          for (let i = 1; i <= 3; i++) w.insertMessage(snap(B, i, i));
        });
        expect(store.transaction((w) => w.pruneSnapshots(A, { after: 0, upTo: 3 }))).toBe(3);
        expect(store.snapshots(A).map((x) => x.seq)).toEqual([5, 4]);
        expect(store.messages(A).map((m) => `${m.direction}:${m.msg_type}:${m.seq}`)).toEqual([
          'in:Status:4', 'in:Status:5', 'in:Result:6', 'in:Error:7', 'out:Control:1', 'out:Status:2',
        ]);
        expect(store.messageBySeq(A, 1)).toBeUndefined();
        expect(store.snapshots(B)).toHaveLength(3);
        expect(store.messages(B)).toHaveLength(3);
        // A range already pruned, an empty or reversed one: nothing.
        expect(store.transaction((w) => w.pruneSnapshots(A, { after: 0, upTo: 3 }))).toBe(0);
        expect(store.transaction((w) => w.pruneSnapshots(A, { after: 4, upTo: 4 }))).toBe(0);
        expect(store.transaction((w) => w.pruneSnapshots(A, { after: 5, upTo: 1 }))).toBe(0);
        // Result and Error inside the range stay; the lower bound is exclusive.
        expect(store.transaction((w) => w.pruneSnapshots(A, { after: 4, upTo: 100 }))).toBe(1);
        expect(store.latestSnapshot(A)?.seq).toBe(4);
        expect(store.messages(A, { msg_type: 'Status' }).map((m) => m.seq)).toEqual([4, 2]);
        expect(store.transaction((w) => w.pruneSnapshots(B, { after: 1, upTo: 2 }))).toBe(1);
        expect(store.snapshots(B).map((x) => x.seq)).toEqual([3, 1]);
      });
    });

    describe('bookkeeping', () => dataContract(s));
    describe('request nonces', () => nonceContract(s));
    describe('bootstrap devices and claim intents', () => bootstrapContract(s));
  });
}
