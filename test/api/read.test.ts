/**
 * The query endpoints against a small real tree: filters, 404 for unknown
 * apps, 400 for malformed query strings, and the subtree limits of an app.
 *
 *   root ─┬─ left ── leaf      (link A; leaf reports and finishes)
 *         └─ right             (link B; dropped → crashed)
 *   other                      (a second root, outside root's subtree)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { as, admin, call, cleanDirs, startTestGateway, until } from './support/api-harness.js';
import { SimLink, simApp } from './support/sim-device.js';

let gw: RunningGateway;
let a: SimLink;
let b: SimLink;
const root = simApp(null, 'root');
const left = simApp(root.appId, 'left');
const leaf = simApp(left.appId, 'leaf', 'answer', 'lab');
const right = simApp(root.appId, 'right');
const other = simApp(null, 'other', 'answer', 'elsewhere');
const GHOST = '00000000-0000-4000-8000-00000000dead';

beforeAll(async () => {
  gw = await startTestGateway();
  a = await SimLink.open(gw.wsUrl);
  b = await SimLink.open(gw.wsUrl);
  for (const app of [root, left, leaf, other]) await a.register(app);
  await b.register(right);
  a.status(leaf, { progress: 0.5 });
  a.status(leaf, { progress: 0.9 });
  a.status(leaf, { rows: 42 }, 'Result');
  b.close();
  await until(() => gw.store.getApp(leaf.appId)?.status === 'done' && gw.store.getApp(right.appId)?.status === 'crashed', 5000, 'tree settled');
});
afterAll(async () => {
  a.close();
  await gw.stop();
  cleanDirs();
});

const ids = (rows: Array<{ app_id: string }>) => rows.map((r) => r.app_id);

describe('as the admin', () => {
  it('lists apps with status, namespace, parent_id and limit filters', async () => {
    const all = await call(gw, admin(gw), 'GET', '/api/v1/apps');
    expect(all.status).toBe(200);
    expect(ids(all.body.apps).sort()).toEqual([root, left, leaf, right, other].map((x) => x.appId).sort());
    expect(ids((await call(gw, admin(gw), 'GET', '/api/v1/apps?status=crashed')).body.apps)).toEqual([right.appId]);
    expect(ids((await call(gw, admin(gw), 'GET', '/api/v1/apps?namespace=lab')).body.apps)).toEqual([leaf.appId]);
    expect(ids((await call(gw, admin(gw), 'GET', `/api/v1/apps?parent_id=${root.appId}`)).body.apps).sort()).toEqual([left.appId, right.appId].sort());
    expect((await call(gw, admin(gw), 'GET', '/api/v1/apps?limit=2')).body.apps).toHaveLength(2);
  });

  it('shows one app, without internal bookkeeping', async () => {
    const res = await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ app_id: leaf.appId, parent_id: left.appId, app_name: 'leaf', status: 'done', namespace: 'lab', sec_level: 'signed', last_seq: 3, pub_key: leaf.pubKey });
    expect('last_auth_ts' in res.body).toBe(false);
  });

  it('lists children, the recursive subtree, and filters them by status', async () => {
    const direct = await call(gw, admin(gw), 'GET', `/api/v1/apps/${root.appId}/children`);
    expect([direct.body.recursive, ids(direct.body.children)]).toEqual([false, [left.appId, right.appId]]);
    const all = await call(gw, admin(gw), 'GET', `/api/v1/apps/${root.appId}/children?recursive=true`);
    expect(ids(all.body.children)).toEqual([left.appId, right.appId, leaf.appId]);
    const done = await call(gw, admin(gw), 'GET', `/api/v1/apps/${root.appId}/children?recursive=true&status=done`);
    expect(ids(done.body.children)).toEqual([leaf.appId]);
  });

  it('lists messages by type, and snapshots newest first with the latest one alone', async () => {
    const msgs = await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId}/messages`);
    expect(msgs.body.messages.map((m: { msg_type: string; seq: number }) => [m.msg_type, m.seq])).toEqual([['Status', 1], ['Status', 2], ['Result', 3]]);
    const results = await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId}/messages?type=Result`);
    expect(results.body.messages.map((m: { payload_json: unknown }) => m.payload_json)).toEqual([{ rows: 42 }]);
    expect((await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId}/messages?limit=1`)).body.messages).toHaveLength(1);
    const snaps = await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId}/snapshots`);
    expect(snaps.body.snapshots.map((s: { snapshot_json: unknown }) => s.snapshot_json)).toEqual([{ progress: 0.9 }, { progress: 0.5 }]);
    const latest = await call(gw, admin(gw), 'GET', `/api/v1/apps/${leaf.appId}/snapshots/latest`);
    expect(latest.body).toMatchObject({ app_id: leaf.appId, seq: 2, snapshot_json: { progress: 0.9 }, namespace: 'lab' });
    const none = await call(gw, admin(gw), 'GET', `/api/v1/apps/${root.appId}/snapshots/latest`);
    expect([none.status, none.body.error.code]).toEqual([404, 'not_found']);
  });

  it('lists crashes, since a time and for one app', async () => {
    const all = await call(gw, admin(gw), 'GET', '/api/v1/crashes');
    expect(all.body.crashes.map((c: { app_id: string; crash_type: string }) => [c.app_id, c.crash_type])).toEqual([[right.appId, 'connection_drop']]);
    const past = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect((await call(gw, admin(gw), 'GET', `/api/v1/crashes?since=${past}`)).body.crashes).toHaveLength(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await call(gw, admin(gw), 'GET', `/api/v1/crashes?since=${future}`)).body.crashes).toEqual([]);
    expect((await call(gw, admin(gw), 'GET', `/api/v1/crashes?app_id=${leaf.appId}`)).body.crashes).toEqual([]);
  });

  it('answers 404 for an app that never existed, on every per-app endpoint', async () => {
    for (const suffix of ['', '/children', '/messages', '/snapshots', '/snapshots/latest']) {
      const res = await call(gw, admin(gw), 'GET', `/api/v1/apps/${GHOST}${suffix}`);
      expect([suffix, res.status, res.body.error.code, res.body.error.message]).toEqual([suffix, 404, 'not_found', `no app ${GHOST} is known to this gateway`]);
    }
    const crashes = await call(gw, admin(gw), 'GET', `/api/v1/crashes?app_id=${GHOST}`);
    expect(crashes.status).toBe(404);
    const route = await call(gw, admin(gw), 'GET', '/api/v1/nowhere');
    expect([route.status, route.body.error.code]).toEqual([404, 'not_found']);
  });

  it('answers 400 naming the field for malformed query strings and ids', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/v1/apps/not-a-uuid', /params\/appId must be a UUID/],
      ['/api/v1/apps?status=zombie', /querystring\/status must be one of scheduled/],
      ['/api/v1/apps?limit=0', /querystring\/limit/],
      ['/api/v1/apps?limit=ten', /querystring\/limit/],
      ['/api/v1/apps?colour=red', /querystring\/colour is not a known field/],
      ['/api/v1/apps?parent_id=123', /querystring\/parent_id must be a UUID/],
      ['/api/v1/apps?status=running&status=done', /querystring\/status/],
      [`/api/v1/apps/${root.appId}/children?recursive=yes`, /querystring\/recursive must be one of true, false/],
      [`/api/v1/apps/${root.appId}/messages?type=Log`, /querystring\/type must be one of Status, Result, Error, Control/],
      ['/api/v1/crashes?since=yesterday', /querystring\/since must match format "date-time"/],
    ];
    for (const [path, message] of cases) {
      const res = await call(gw, admin(gw), 'GET', path);
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'bad_request']);
      expect(res.body.error.message).toMatch(message);
    }
  });
});

describe('internal failures', () => {
  it('answer 500 without internal detail', async () => {
    const spy = vi.spyOn(gw.store, 'listApps').mockImplementation(() => {
      throw new Error('SQLITE_IOERR: disk I/O error at /var/lib/trails/trails.db');
    });
    try {
      const res = await call(gw, admin(gw), 'GET', '/api/v1/apps');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'internal', message: 'the gateway failed to answer this request; it has been logged' } });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('as an app', () => {
  it('sees only its subtree in lists, and itself', async () => {
    const mine = await call(gw, as(left), 'GET', '/api/v1/apps');
    expect(ids(mine.body.apps)).toEqual([left.appId, leaf.appId]);
    expect(ids((await call(gw, as(root), 'GET', '/api/v1/apps?status=crashed')).body.apps)).toEqual([right.appId]);
    expect((await call(gw, as(left), 'GET', `/api/v1/apps/${left.appId}`)).body.app_id).toBe(left.appId);
    expect((await call(gw, as(root), 'GET', `/api/v1/apps/${leaf.appId}/messages?type=Result`)).body.messages).toHaveLength(1);
    expect((await call(gw, as(root), 'GET', '/api/v1/crashes')).body.crashes).toHaveLength(1);
    expect((await call(gw, as(left), 'GET', '/api/v1/crashes')).body.crashes).toEqual([]);
  });

  it('is refused (403 + audit row) outside its subtree: siblings, parents, other roots', async () => {
    const before = gw.store.auditLog().length;
    for (const [who, path] of [
      [left, `/api/v1/apps/${right.appId}`],
      [left, `/api/v1/apps/${root.appId}/children`],
      [root, `/api/v1/apps/${other.appId}/messages`],
      [other, `/api/v1/crashes?app_id=${right.appId}`],
    ] as const) {
      const res = await call(gw, as(who), 'GET', path);
      expect([path, res.status, res.body.error.code]).toEqual([path, 403, 'forbidden']);
      expect(res.body.error.message).toMatch(/is not in the subtree of app/);
    }
    const rows = gw.store.auditLog().slice(0, gw.store.auditLog().length - before);
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.outcome === 'refused:403' && r.auth_domain === 'tree')).toBe(true);
    expect(rows.map((r) => r.source_app_id).sort()).toEqual([left.appId, left.appId, root.appId, other.appId].sort());
    expect(rows.find((r) => r.source_app_id === root.appId)?.target_app_id).toBe(other.appId);
  });
});
