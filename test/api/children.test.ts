/**
 * Lifecycle, first half (spec §7): POST /api/v1/children declares intent
 * (scheduled), a child that registers in time moves on, one that never does
 * becomes start_failed with a never_started crash (also across a restart),
 * and DELETE withdraws a child that has not started.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { startGateway } from '../../gateway/app.js';
import { as, admin, call, cleanDirs, startTestGateway, testConfig, until } from './support/api-harness.js';
import { SimLink, simApp, type SimApp } from './support/sim-device.js';

let gw: RunningGateway | undefined;
let link: SimLink | undefined;
afterEach(async () => {
  link?.close();
  link = undefined;
  await gw?.stop();
  gw = undefined;
});
afterAll(cleanDirs);

const declare = (parentId: string, over: object = {}) => ({ parentId, appId: crypto.randomUUID(), appName: 'worker', startDeadline: 300, ...over });

async function withRoot(): Promise<{ g: RunningGateway; root: SimApp }> {
  gw = await startTestGateway();
  link = await SimLink.open(gw.wsUrl);
  const root = simApp(null, 'root', 'answer', 'etl');
  await link.register(root);
  return { g: gw, root };
}

describe('POST /api/v1/children', () => {
  it('declares a scheduled child (201 with the row), audited, and it moves on when it registers', async () => {
    const { g, root } = await withRoot();
    const body = declare(root.appId, { appName: 'gpu-worker', startDeadline: 60, secLevel: 'signed', roleRefs: ['sre-on-call'], tags: { dagRun: 'daily' } });
    const res = await call(g, as(root), 'POST', '/api/v1/children', body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      app_id: body.appId, parent_id: root.appId, app_name: 'gpu-worker', status: 'scheduled', start_deadline: 60,
      sec_level: 'signed', role_refs: ['sre-on-call'], metadata_json: { tags: { dagRun: 'daily' } }, namespace: 'etl', pub_key: null,
    });
    expect(g.store.auditLog({ target_app_id: body.appId })[0]).toMatchObject({ action: 'declare_child', outcome: 'declared', auth_domain: 'tree', source_app_id: root.appId });
    const child: SimApp = { ...simApp(root.appId, 'gpu-worker'), appId: body.appId };
    const answer = await link!.register(child);
    expect(answer.type).toBe('registered');
    await until(() => g.store.getApp(body.appId)?.status === 'connected', 2000, 'child connected');
    expect(g.store.getApp(body.appId)?.pub_key).toBe(child.pubKey);
  });

  it('refuses a duplicate (409), an unknown parent (404) and malformed bodies (400), changing nothing', async () => {
    const { g, root } = await withRoot();
    const body = declare(root.appId);
    expect((await call(g, admin(g), 'POST', '/api/v1/children', body)).status).toBe(201);
    const dup = await call(g, admin(g), 'POST', '/api/v1/children', { ...body, appName: 'again' });
    expect([dup.status, dup.body.error.code]).toEqual([409, 'conflict']);
    expect(g.store.getApp(body.appId)?.app_name).toBe('worker');
    const taken = await call(g, admin(g), 'POST', '/api/v1/children', declare(root.appId, { appId: root.appId }));
    expect(taken.status).toBe(409);
    const orphan = declare('00000000-0000-4000-8000-0000000000aa');
    const unknown = await call(g, admin(g), 'POST', '/api/v1/children', orphan);
    expect([unknown.status, unknown.body.error.message]).toEqual([404, 'parent 00000000-0000-4000-8000-0000000000aa is not known to this gateway']);
    const bad: Array<[unknown, RegExp]> = [
      [{ ...declare(root.appId), appId: 'x' }, /body\/appId must be a UUID/],
      [{ ...declare(root.appId), startDeadline: '5' }, /body\/startDeadline must be integer/],
      [{ ...declare(root.appId), startDeadline: 0 }, /body\/startDeadline must be >= 1/],
      [{ parentId: root.appId, appId: crypto.randomUUID(), appName: 'w' }, /body\/startDeadline is required/],
      [{ ...declare(root.appId), grants: [] }, /body\/grants is not a known field/],
      [{ ...declare(root.appId), secLevel: 'max' }, /body\/secLevel must be one of open, signed, full/],
      [{ ...declare(root.appId), appName: '' }, /body\/appName must NOT have fewer than 1 characters/],
      ['{"parentId": ', /body is not valid JSON/],
      ['[1,2]', /body must be object/],
    ];
    for (const [payload, message] of bad) {
      const res = await call(g, admin(g), 'POST', '/api/v1/children', payload);
      expect([res.status, res.body.error.code]).toEqual([400, 'bad_request']);
      expect(res.body.error.message).toMatch(message);
    }
    expect(g.store.listApps()).toHaveLength(2);
  });

  it('lets an app declare only under itself or a descendant (403 + audit row otherwise)', async () => {
    const { g, root } = await withRoot();
    const mid = simApp(root.appId, 'mid');
    const stranger = simApp(null, 'stranger');
    await link!.register(mid);
    await link!.register(stranger);
    expect((await call(g, as(root), 'POST', '/api/v1/children', declare(mid.appId))).status).toBe(201);
    expect((await call(g, as(mid), 'POST', '/api/v1/children', declare(mid.appId))).status).toBe(201);
    const body = declare(root.appId);
    const up = await call(g, as(mid), 'POST', '/api/v1/children', body);
    expect([up.status, up.body.error.code]).toEqual([403, 'forbidden']);
    expect(up.body.error.message).toBe(`an app may declare children only under itself or its descendants, not under ${root.appId}`);
    const across = await call(g, as(stranger), 'POST', '/api/v1/children', declare(mid.appId));
    expect(across.status).toBe(403);
    expect(g.store.getApp(body.appId)).toBeUndefined();
    const refusals = g.store.auditLog().filter((r) => r.outcome === 'refused:403');
    expect(refusals.map((r) => [r.action, r.source_app_id])).toEqual([['declare_child', stranger.appId], ['declare_child', mid.appId]]);
  });

  it('a child that never registers becomes start_failed with a never_started crash after its deadline', async () => {
    const { g, root } = await withRoot();
    const body = declare(root.appId, { startDeadline: 1 });
    expect((await call(g, as(root), 'POST', '/api/v1/children', body)).status).toBe(201);
    const t0 = Date.now();
    await until(() => g.store.getApp(body.appId)?.status === 'start_failed', 5000, 'start_failed');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    const crashes = await call(g, as(root), 'GET', `/api/v1/crashes?app_id=${body.appId}`);
    expect(crashes.body.crashes.map((c: { crash_type: string; gap_seconds: number }) => [c.crash_type, c.gap_seconds])).toEqual([['never_started', 1]]);
    // Too late now: the child is refused.
    const late = await link!.register({ ...simApp(root.appId), appId: body.appId });
    expect(late).toMatchObject({ type: 'error' });
  });

  it('start_failed also happens across a gateway restart', async () => {
    const config = testConfig();
    gw = await startGateway(config);
    link = await SimLink.open(gw.wsUrl);
    const root = simApp(null, 'root');
    await link.register(root);
    const body = declare(root.appId, { startDeadline: 3 });
    expect((await call(gw, admin(gw), 'POST', '/api/v1/children', body)).status).toBe(201);
    link.close();
    link = undefined;
    await gw.stop();
    gw = await startGateway(config);
    const g = gw;
    expect(g.store.getApp(body.appId)?.status).toBe('scheduled');
    await until(() => g.store.getApp(body.appId)?.status === 'start_failed', 5000, 'start_failed after restart');
    expect(g.store.crashes({ app_id: body.appId })[0]?.crash_type).toBe('never_started');
  });
});

describe('DELETE /api/v1/children/{appId}', () => {
  it('withdraws a scheduled child: cancelled with metadata withdrawn, audited, and a late start is refused', async () => {
    const { g, root } = await withRoot();
    const body = declare(root.appId, { startDeadline: 1, tags: { k: 1 } });
    await call(g, as(root), 'POST', '/api/v1/children', body);
    const res = await call(g, as(root), 'DELETE', `/api/v1/children/${body.appId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ app_id: body.appId, status: 'cancelled', metadata_json: { tags: { k: 1 }, withdrawn: true } });
    expect(g.store.auditLog({ target_app_id: body.appId })[0]).toMatchObject({ action: 'withdraw_child', outcome: 'withdrawn' });
    // The deadline passes without a crash: the intent was withdrawn, not failed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(g.store.getApp(body.appId)?.status).toBe('cancelled');
    expect(g.store.crashes({ app_id: body.appId })).toEqual([]);
    expect(await link!.register({ ...simApp(root.appId), appId: body.appId })).toMatchObject({ type: 'error' });
    const again = await call(g, as(root), 'DELETE', `/api/v1/children/${body.appId}`);
    expect([again.status, again.body.error.message]).toEqual([409, `app ${body.appId} is cancelled; only a scheduled child can be withdrawn`]);
  });

  it('is 409 once the child runs, 404 for an unknown id, 403 outside the subtree', async () => {
    const { g, root } = await withRoot();
    const child = simApp(root.appId, 'running');
    await link!.register(child);
    const started = await call(g, as(root), 'DELETE', `/api/v1/children/${child.appId}`);
    expect(started.status).toBe(409);
    expect(g.store.getApp(child.appId)?.status).toBe('connected');
    const ghost = await call(g, admin(g), 'DELETE', `/api/v1/children/${crypto.randomUUID()}`);
    expect(ghost.status).toBe(404);
    const body = declare(root.appId);
    await call(g, admin(g), 'POST', '/api/v1/children', body);
    const sibling = await call(g, as(child), 'DELETE', `/api/v1/children/${body.appId}`);
    expect(sibling.status).toBe(403);
    expect(g.store.getApp(body.appId)?.status).toBe('scheduled');
    expect((await call(g, admin(g), 'DELETE', '/api/v1/children/nope')).status).toBe(400);
  });
});
