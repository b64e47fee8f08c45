/**
 * The watch WebSocket over real sockets: catch-up, then live events; the
 * terminal message `trails wait` ends on; subtree and namespace filters; and
 * the refusals of the upgrade (400, 401, 403, 404) with their audit rows.
 */
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { signRequest } from '../../gateway/auth/request-signing.js';
import { as, admin, call, flushRefusals, until, type Signer } from './support/api-harness.js';
import { SimLink, simApp, type SimApp } from './support/sim-device.js';
import { gatewayPerTest } from './support/per-test.js';
import { openWatch, type WatchClient } from './support/watch-client.js';

const env = gatewayPerTest();

async function setup(): Promise<{ g: RunningGateway; link: SimLink; root: SimApp; kid: SimApp }> {
  const g = await env.start();
  const link = await env.link(g);
  const root = simApp(null, 'root', 'answer', 'home');
  const kid = simApp(root.appId, 'kid', 'answer', 'home');
  await link.register(root);
  await link.register(kid);
  return { g, link, root, kid };
}

async function watch(g: RunningGateway, signer: Signer, query: string): Promise<WatchClient> {
  const res = await openWatch(g, signer, query);
  if (!res.ok) throw new Error(`watch refused: ${res.status} ${JSON.stringify(res.body)}`);
  return env.track(res.client);
}

describe('watch', () => {
  it('app_id: the current state first, then live events, then the terminal message with the result', async () => {
    const { g, link, root, kid } = await setup();
    link.status(kid, { progress: 0.25 });
    await until(() => g.store.latestSnapshot(kid.appId), 2000, 'first snapshot');
    const w = await watch(g, as(root), `app_id=${kid.appId}`);
    const first = await w.next(() => true);
    expect(first).toMatchObject({ type: 'snapshot', app: { app_id: kid.appId, status: 'running', namespace: 'home' }, latest_snapshot: { seq: 1, snapshot_json: { progress: 0.25 } } });
    expect('last_auth_ts' in first.app).toBe(false);
    expect(await w.next((m) => m.type === 'caught_up')).toEqual({ type: 'caught_up', apps: 1 });
    link.status(kid, { progress: 0.75 });
    link.status(kid, { rows: 7 }, 'Result');
    const terminal = await w.next((m) => m.type === 'terminal');
    expect(terminal).toEqual({ type: 'terminal', app_id: kid.appId, status: 'done', result: { rows: 7 } });
    const events = w.events();
    expect(events.filter((e) => e.type === 'message').map((e) => [e.msg_type, e.seq, e.payload])).toEqual([['Status', 2, { progress: 0.75 }], ['Result', 3, { rows: 7 }]]);
    expect(events.filter((e) => e.type === 'app_status').map((e) => e.status)).toEqual(['done']);
    expect(w.messages.indexOf(terminal)).toBe(w.messages.length - 1);
    expect(await w.closed).toEqual({ code: 1000, reason: 'terminal' });
  });

  it('an app already terminal gets its terminal message at once (no race with the wait)', async () => {
    const { g, link, kid } = await setup();
    link.status(kid, { message: 'disk full' }, 'Error');
    await until(() => g.store.getApp(kid.appId)?.status === 'error', 2000, 'error stored');
    const w = await watch(g, admin(g), `app_id=${kid.appId}`);
    expect(await w.closed).toEqual({ code: 1000, reason: 'terminal' });
    expect(w.messages.map((m) => m.type)).toEqual(['snapshot', 'caught_up', 'terminal']);
    expect(w.messages[2]).toEqual({ type: 'terminal', app_id: kid.appId, status: 'error', error: { message: 'disk full' } });
  });

  it('a terminal message also for start_failed, with the crash type', async () => {
    const { g, root } = await setup();
    const id = crypto.randomUUID();
    await call(g, as(root), 'POST', '/api/v1/children', { parentId: root.appId, appId: id, appName: 'never', startDeadline: 1 });
    const w = await watch(g, as(root), `app_id=${id}`);
    expect((await w.next(() => true)).app.status).toBe('scheduled');
    expect(await w.next((m) => m.type === 'terminal', 5000)).toEqual({ type: 'terminal', app_id: id, status: 'start_failed', crash_type: 'never_started' });
  });

  it('parent_id: the whole subtree at catch-up, and apps that join it later', async () => {
    const { g, link, root, kid } = await setup();
    const grandkid = simApp(kid.appId, 'grandkid');
    await link.register(grandkid);
    const w = await watch(g, as(root), `parent_id=${root.appId}`);
    await w.next((m) => m.type === 'caught_up');
    expect(w.messages.filter((m) => m.type === 'snapshot').map((m) => m.app.app_name)).toEqual(['kid', 'grandkid']);
    const later = simApp(grandkid.appId, 'later');
    await link.register(later);
    const declared = crypto.randomUUID();
    await call(g, as(root), 'POST', '/api/v1/children', { parentId: later.appId, appId: declared, appName: 'declared', startDeadline: 60 });
    link.status(later, { hello: 1 });
    link.status(root, { not: 'in the subtree' });
    const outsider = simApp(null, 'outsider');
    await link.register(outsider);
    link.status(outsider, { nope: true });
    await w.next((m) => m.type === 'event' && m.event.type === 'message' && m.event.app_id === later.appId);
    await w.next((m) => m.type === 'event' && m.event.app_id === declared);
    const apps = new Set(w.events().map((e) => e.app_id));
    expect([...apps].sort()).toEqual([later.appId, declared].sort());
    // A cascade over the subtree streams each node's control and cancelled status.
    await call(g, admin(g), 'POST', `/api/v1/apps/${kid.appId}/cancel?cascade=true&grace=0.2`);
    await w.next((m) => m.type === 'event' && m.event.app_id === kid.appId && m.event.status === 'cancelled');
    const cancelled = w.events().filter((e) => e.type === 'app_status' && e.status === 'cancelled').map((e) => e.app_id);
    // The declared child never started: cancelled at once, and first, as the deepest.
    expect(cancelled).toEqual([declared, later.appId, grandkid.appId, kid.appId]);
    const controls = w.events().filter((e) => e.type === 'control' && e.action === 'cancel');
    expect(controls.map((e) => [e.app_id, e.status, e.parent_id])).toContainEqual([kid.appId, 'answered', root.appId]);
  });

  it('watchers joining one subtree share a catch-up until an event changes it', async () => {
    const { g, link, root, kid } = await setup();
    const snapOf = (w: WatchClient) => w.messages.find((m) => m.type === 'snapshot' && m.app.app_id === kid.appId)!;
    const first = await watch(g, as(root), `parent_id=${root.appId}`);
    await first.next((m) => m.type === 'caught_up');
    expect(snapOf(first).app.status).toBe('connected');
    link.status(kid, { step: 1 });
    await first.next((m) => m.type === 'event' && m.event.type === 'app_status');
    const second = await watch(g, as(root), `parent_id=${root.appId}`);
    await second.next((m) => m.type === 'caught_up');
    expect(snapOf(second)).toMatchObject({ app: { status: 'running', last_seq: 1 }, latest_snapshot: { seq: 1, snapshot_json: { step: 1 } } });
    const third = await watch(g, as(root), `parent_id=${root.appId}`);
    await third.next((m) => m.type === 'caught_up');
    expect(third.messages).toEqual(second.messages);
    expect(g.watch.size).toBe(3);
  });

  it('namespace: only apps of that namespace (admin)', async () => {
    const { g, link, kid } = await setup();
    const lab = simApp(kid.appId, 'labrat', 'answer', 'lab');
    await link.register(lab);
    const w = await watch(g, admin(g), 'namespace=lab');
    await w.next((m) => m.type === 'caught_up');
    expect(w.messages.filter((m) => m.type === 'snapshot').map((m) => m.app.app_name)).toEqual(['labrat']);
    link.status(kid, { home: 1 });
    link.status(lab, { lab: 1 });
    await w.next((m) => m.type === 'event' && m.event.type === 'message');
    await w.next((m) => m.type === 'event' && m.event.type === 'app_status');
    // Its Status, and its move from connected to running; nothing of kid's.
    expect(w.events().map((e) => [e.type, e.app_id, e.namespace, e.status ?? e.payload])).toEqual([
      ['message', lab.appId, 'lab', { lab: 1 }],
      ['app_status', lab.appId, 'lab', 'running'],
    ]);
  });
});

describe('watch refusals', () => {
  const refused = async (res: Awaited<ReturnType<typeof openWatch>>) => {
    if (res.ok) {
      env.track(res.client);
      throw new Error('the watch was accepted');
    }
    return res;
  };

  it('400 for a bad filter, naming it', async () => {
    const { g, root, kid } = await setup();
    const cases: Array<[string, string]> = [
      ['app_id=42', 'app_id must be a UUID, not "42"'],
      ['parent_id=', 'parent_id must be a UUID, not ""'],
      ['colour=red', 'unknown filter "colour"; use app_id, parent_id or namespace'],
      [`app_id=${kid.appId}&parent_id=${root.appId}`, 'give app_id or parent_id, not both'],
      [`app_id=${kid.appId}&app_id=${kid.appId}`, 'filter "app_id" is given more than once'],
    ];
    for (const [query, message] of cases) {
      const res = await refused(await openWatch(g, admin(g), query));
      expect([query, res.status, res.body]).toEqual([query, 400, { error: { code: 'bad_request', message } }]);
    }
  });

  it('401 unsigned, replayed or wrongly signed, with an audit row', async () => {
    const { g, root } = await setup();
    const unsigned = await refused(await openWatch(g, null, `app_id=${root.appId}`));
    expect([unsigned.status, unsigned.body.error.code]).toEqual([401, 'unauthenticated']);
    const path = `/api/v1/watch?app_id=${root.appId}`;
    const h = signRequest({ method: 'GET', path, key: g.admin.pair });
    const first = await openWatch(g, null, `app_id=${root.appId}`, h);
    expect(first.ok).toBe(true);
    if (first.ok) env.track(first.client);
    const replay = await refused(await openWatch(g, null, `app_id=${root.appId}`, h));
    expect([replay.status, replay.body.error.code]).toEqual([401, 'replayed_nonce']);
    const other = signRequest({ method: 'GET', path: '/api/v1/watch', key: g.admin.pair });
    const moved = await refused(await openWatch(g, null, `app_id=${root.appId}`, other));
    expect([moved.status, moved.body.error.code]).toEqual([401, 'bad_signature']);
    await flushRefusals(g);
    const audit = g.store.auditLog().filter((r) => r.action === 'watch').map((r) => r.outcome);
    expect(audit.sort()).toEqual(['refused:401:bad_signature', 'refused:401:replayed_nonce', 'refused:401:unauthenticated']);
  });

  it('404 for an app that never existed; 403 outside the subtree or without a filter for an app', async () => {
    const { g, link, root, kid } = await setup();
    const ghost = crypto.randomUUID();
    for (const q of [`app_id=${ghost}`, `parent_id=${ghost}`]) {
      const res = await refused(await openWatch(g, admin(g), q));
      expect([res.status, res.body.error]).toEqual([404, { code: 'not_found', message: `no app ${ghost} is known to this gateway` }]);
    }
    const stranger = simApp(null, 'stranger');
    await link.register(stranger);
    const upward = await refused(await openWatch(g, as(kid), `app_id=${root.appId}`));
    expect([upward.status, upward.body.error.message]).toEqual([403, `app ${root.appId} is not in the subtree of app ${kid.appId}`]);
    const across = await refused(await openWatch(g, as(stranger), `parent_id=${root.appId}`));
    expect(across.status).toBe(403);
    const everything = await refused(await openWatch(g, as(root), 'namespace=home'));
    expect([everything.status, everything.body.error.message]).toEqual([403, 'an app must watch with app_id or parent_id inside its own subtree']);
    const rows = g.store.auditLog().filter((r) => r.action === 'watch');
    expect(rows.map((r) => [r.outcome, r.source_app_id])).toEqual([['refused:403', root.appId], ['refused:403', stranger.appId], ['refused:403', kid.appId]]);
    expect(g.watch.size).toBe(0);
  });
});
