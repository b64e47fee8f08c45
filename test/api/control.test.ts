/**
 * POST /api/v1/apps/{appId}/control: answered with the device's response,
 * 504 while it stays queued, 409 for a finished app, 403 for oneself or a
 * stranger, and an audit row for each.
 */
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { as, admin, call, until } from './support/api-harness.js';
import { SimLink, simApp, type SimApp } from './support/sim-device.js';
import { gatewayPerTest } from './support/per-test.js';

const env = gatewayPerTest();

async function setup(): Promise<{ g: RunningGateway; link: SimLink; parent: SimApp; child: SimApp }> {
  const g = await env.start();
  const link = await env.link(g);
  const parent = simApp(null, 'parent');
  const child = simApp(parent.appId, 'child');
  await link.register(parent);
  await link.register(child);
  return { g, link, parent, child };
}

describe('control', () => {
  it("a parent's control is answered with the device's response, and audited", async () => {
    const { g, parent, child } = await setup();
    const res = await call(g, as(parent), 'POST', `/api/v1/apps/${child.appId}/control`, { action: 'reconfig', payload: { batch_size: 500 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'answered', response: { ack: true, result: { cancelled: false, action: 'reconfig' } } });
    expect(child.controls).toEqual([{ action: 'reconfig', correlation_id: res.body.correlation_id, payload: { batch_size: 500 }, at: expect.any(Number) }]);
    expect(g.store.getControl(res.body.correlation_id)).toMatchObject({ status: 'answered', origin: `app:${parent.appId}` });
    const [row] = g.store.auditLog({ target_app_id: child.appId });
    expect(row).toMatchObject({ action: 'control', outcome: 'sent', auth_domain: 'tree', source_app_id: parent.appId, payload_json: { action: 'reconfig', payload: { batch_size: 500 }, correlation_id: res.body.correlation_id } });
  });

  it('a refusing device answers ack:false; the admin may control any app', async () => {
    const { g, link, parent } = await setup();
    const grumpy = simApp(parent.appId, 'grumpy', 'refuse');
    await link.register(grumpy);
    const res = await call(g, admin(g), 'POST', `/api/v1/apps/${grumpy.appId}/control`, { action: 'pause' });
    expect(res.body).toMatchObject({ status: 'answered', response: { ack: false, error: 'refused' } });
    const top = await call(g, admin(g), 'POST', `/api/v1/apps/${parent.appId}/control`, { action: 'ping' });
    expect(top.status).toBe(200);
    expect(g.store.auditLog({ target_app_id: parent.appId })[0]).toMatchObject({ auth_domain: 'local', source_app_id: null });
  });

  it('504 with the correlation id when the device does not answer in time; the control stays open', async () => {
    const { g, link, parent } = await setup();
    const mute = simApp(parent.appId, 'mute', 'silent');
    await link.register(mute);
    const t0 = Date.now();
    const res = await call(g, as(parent), 'POST', `/api/v1/apps/${mute.appId}/control`, { action: 'checkpoint', timeoutMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(res.status).toBe(504);
    expect(res.body.status).toBe('timeout');
    expect(g.store.getControl(res.body.correlation_id)?.status).toBe('sent');
    expect(mute.controls.map((c) => c.action)).toEqual(['checkpoint']);
  });

  it('a control for a crashed app or a declared child waits (504) and is delivered when it comes', async () => {
    const { g, parent } = await setup();
    const roamer = simApp(parent.appId, 'roamer');
    const first = await env.link(g);
    await first.register(roamer);
    first.close();
    await until(() => g.store.getApp(roamer.appId)?.status === 'crashed', 3000, 'roamer dropped');
    // A crashed app may come back: its control waits for it.
    const res = await call(g, as(parent), 'POST', `/api/v1/apps/${roamer.appId}/control`, { action: 'checkpoint', timeoutMs: 100 });
    expect([res.status, res.body.status]).toEqual([504, 'timeout']);
    expect(g.store.getControl(res.body.correlation_id)?.status).toBe('queued');
    const back = await env.link(g);
    expect((await back.register(roamer)).type).toBe('registered');
    await until(() => g.store.getControl(res.body.correlation_id)?.status === 'answered', 3000, 'control answered after return');
    expect(roamer.controls.map((c) => c.action)).toEqual(['checkpoint']);
    const declared = crypto.randomUUID();
    await call(g, admin(g), 'POST', '/api/v1/children', { parentId: parent.appId, appId: declared, appName: 'later', startDeadline: 60 });
    const queued = await call(g, as(parent), 'POST', `/api/v1/apps/${declared}/control`, { action: 'warmup', timeoutMs: 100 });
    expect([queued.status, queued.body.status]).toEqual([504, 'timeout']);
    expect(g.store.getControl(queued.body.correlation_id)?.status).toBe('queued');
    const late = await env.link(g);
    const app: SimApp = { ...simApp(parent.appId, 'later'), appId: declared };
    await late.register(app);
    await until(() => g.store.getControl(queued.body.correlation_id)?.status === 'answered', 3000, 'queued control answered');
    expect(app.controls.map((c) => c.action)).toEqual(['warmup']);
  });

  it('409 for a finished app, 403 for itself or outside the subtree, 404 unknown, 400 malformed — each audited', async () => {
    const { g, link, parent, child } = await setup();
    const done = simApp(parent.appId, 'done');
    await link.register(done);
    link.status(done, { ok: true }, 'Result');
    await until(() => g.store.getApp(done.appId)?.status === 'done', 2000, 'done');
    const finished = await call(g, as(parent), 'POST', `/api/v1/apps/${done.appId}/control`, { action: 'ping' });
    expect([finished.status, finished.body.error.message]).toEqual([409, `app ${done.appId} is done; it takes no more controls`]);
    const self = await call(g, as(child), 'POST', `/api/v1/apps/${child.appId}/control`, { action: 'ping' });
    expect([self.status, self.body.error.message]).toEqual([403, 'an app may not control itself']);
    const upward = await call(g, as(child), 'POST', `/api/v1/apps/${parent.appId}/control`, { action: 'ping' });
    expect([upward.status, upward.body.error.message]).toEqual([403, `app ${parent.appId} is not a descendant of app ${child.appId}`]);
    const ghost = crypto.randomUUID();
    expect((await call(g, admin(g), 'POST', `/api/v1/apps/${ghost}/control`, { action: 'ping' })).status).toBe(404);
    for (const body of [{}, { action: '' }, { action: 'x', timeoutMs: -1 }, { action: 'x', timeoutMs: '10' }, { action: 'x', extra: 1 }]) {
      const res = await call(g, admin(g), 'POST', `/api/v1/apps/${child.appId}/control`, body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect(child.controls).toEqual([]);
    const outcomes = g.store.auditLog().map((r) => [r.action, r.outcome, r.target_app_id]);
    expect(outcomes).toEqual(expect.arrayContaining([
      ['control', 'conflict', done.appId], ['control', 'refused:403', child.appId], ['control', 'refused:403', parent.appId], ['control', 'not_found', ghost],
    ]));
  });
});
