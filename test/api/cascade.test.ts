/**
 * Cancel and cascade cancel (spec §12) over real sockets with simulated
 * devices: bottom-up by level, answered nodes cancelled, a silent or refusing
 * node force_killed, a declared child that never started cancelled at once,
 * an offline node queued (delivered when it returns, or marked cancelled when
 * the cancel expires), finished nodes reported as such.
 *
 *   root ─┬─ a ─┬─ a1            answers
 *         │     └─ a2            never answers  → force_killed
 *         ├─ b ─── b1            declared, never started → cancelled at once
 *         ├─ c                   refuses (ack:false) → force_killed
 *         ├─ d                   already done → already_terminal
 *         └─ e                   crashed (socket dropped) → queued
 */
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import type { GatewayConfig } from '../../gateway/config.js';
import { isFinalClose } from '../../protocol/frames.js';
import type { SqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { as, admin, call, until } from './support/api-harness.js';
import { SimLink, simApp, type SimApp } from './support/sim-device.js';
import { gatewayPerTest } from './support/per-test.js';

const env = gatewayPerTest();

interface Tree {
  g: RunningGateway;
  root: SimApp; a: SimApp; a1: SimApp; a2: SimApp; b: SimApp; b1: string; c: SimApp; d: SimApp; e: SimApp;
}

async function tree(over: Partial<GatewayConfig> = {}): Promise<Tree> {
  const g = await env.start(over);
  const [x, y] = [await env.link(g), await env.link(g)];
  const root = simApp(null, 'root');
  const a = simApp(root.appId, 'a');
  const a1 = simApp(a.appId, 'a1');
  const a2 = simApp(a.appId, 'a2', 'silent');
  const b = simApp(root.appId, 'b');
  const c = simApp(root.appId, 'c', 'refuse');
  const d = simApp(root.appId, 'd');
  for (const app of [root, a, b, d]) await x.register(app);
  for (const app of [a1, a2, c]) await y.register(app);
  const b1 = crypto.randomUUID();
  expect((await call(g, admin(g), 'POST', '/api/v1/children', { parentId: b.appId, appId: b1, appName: 'b1', startDeadline: 600 })).status).toBe(201);
  x.status(d, { ok: 1 }, 'Result');
  const e = simApp(root.appId, 'e');
  const z = await SimLink.open(g.wsUrl);
  await z.register(e);
  z.close();
  await until(() => g.store.getApp(d.appId)?.status === 'done' && g.store.getApp(e.appId)?.status === 'crashed', 3000, 'd done, e crashed');
  return { g, root, a, a1, a2, b, b1, c, d, e };
}

const byName = (nodes: Array<Record<string, any>>): Record<string, any> => Object.fromEntries(nodes.map((n) => [n.app_name, n]));

describe('cascade cancel', () => {
  it('goes bottom-up and reports every node: cancelled, force_killed, queued, already_terminal', async () => {
    const t = await tree();
    const t0 = Date.now();
    const full = await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${t.root.appId}/cancel?cascade=true&grace=0.4`, { reason: 'dag run cancelled' });
    expect(full.status).toBe(200);
    const n = byName(full.body.nodes);
    expect(Object.keys(n).sort()).toEqual(['a', 'a1', 'a2', 'b', 'b1', 'c', 'd', 'e', 'root']);
    expect(n.a1).toMatchObject({ outcome: 'cancelled', depth: 2, status: 'cancelled' });
    expect(n.a2).toMatchObject({ outcome: 'force_killed', depth: 2, status: 'cancelled' });
    expect(n.b1).toMatchObject({ outcome: 'cancelled', depth: 2, status: 'cancelled' });
    expect(n.b1.correlation_id).toBeUndefined();
    expect(n.a).toMatchObject({ outcome: 'cancelled', depth: 1, status: 'cancelled' });
    expect(n.b).toMatchObject({ outcome: 'cancelled', depth: 1, status: 'cancelled' });
    expect(n.c).toMatchObject({ outcome: 'force_killed', depth: 1, status: 'cancelled', response: { ack: false, error: 'refused' } });
    expect(n.d).toMatchObject({ outcome: 'already_terminal', depth: 1, status: 'done' });
    expect(n.e).toMatchObject({ outcome: 'queued', depth: 1, status: 'crashed' });
    expect(n.root).toMatchObject({ outcome: 'cancelled', depth: 0, status: 'cancelled' });
    expect(full.body.counts).toEqual({ cancelled: 5, force_killed: 2, queued: 1, already_terminal: 1 });
    expect(full.body.cascade).toBe(true);
    expect(n.a2.ms).toBeGreaterThanOrEqual(380);
    expect(Date.now() - t0).toBeLessThan(3000);
    // The report lists the deepest level first, and the devices heard it in that order:
    // no parent got its cancel before the grace period of its level ran out.
    const depths = full.body.nodes.map((x: { depth: number }) => x.depth);
    expect(depths).toEqual([2, 2, 2, 1, 1, 1, 1, 1, 0]);
    const heard = (x: SimApp) => x.controls[0]!.at;
    // (The grace is 400 ms; 100 ms are left for delivery jitter on a busy machine.)
    expect(Math.min(heard(t.a), heard(t.b), heard(t.c))).toBeGreaterThanOrEqual(Math.max(heard(t.a1), heard(t.a2)) + 300);
    expect(heard(t.root)).toBeGreaterThan(Math.max(heard(t.a), heard(t.b), heard(t.c)));
    expect(t.d.controls).toEqual([]);
    // The cancel payload says why and who.
    expect(t.root.controls[0]?.payload).toEqual({ reason: 'dag run cancelled', cascade: true, initiated_by: 'admin', grace_seconds: 0.4 });
    // One audit row per node, the outcome in the outcome column.
    const audit = t.g.store.auditLog().filter((r) => r.action === 'cancel');
    expect(audit).toHaveLength(9);
    expect(audit.find((r) => r.target_app_id === t.a2.appId)).toMatchObject({ outcome: 'force_killed', cascade: true, auth_domain: 'local' });
  });

  it('an app cancels a subtree below it: the silent node is force_killed, its parent cancelled only after it', async () => {
    const t = await tree();
    const res = await call(t.g, as(t.root), 'POST', `/api/v1/apps/${t.a.appId}/cancel?cascade=true&grace=0.5`);
    const n = byName(res.body.nodes);
    expect(n.a1).toMatchObject({ outcome: 'cancelled', depth: 1, status: 'cancelled' });
    expect(n.a2).toMatchObject({ outcome: 'force_killed', depth: 1, status: 'cancelled' });
    expect(n.a2.ms).toBeGreaterThanOrEqual(450);
    expect(n.a).toMatchObject({ outcome: 'cancelled', depth: 0 });
    // a heard of its cancel only after the grace period of its children ran out.
    expect(t.a.controls[0]!.at - t.a1.controls[0]!.at).toBeGreaterThanOrEqual(400);
    expect(t.a2.controls[0]!.at).toBeLessThan(t.a.controls[0]!.at);
    expect(t.g.store.getApp(t.a2.appId)?.metadata_json).toMatchObject({ force_killed: true });
    expect(t.g.store.getApp(t.a1.appId)?.metadata_json).toBeNull();
    // The documented query finds it, and the reference status CHECK still holds.
    const db = (t.g.store as SqliteStore).db;
    expect(db.prepare(`SELECT app_id, status FROM apps WHERE metadata_json->>'force_killed' = 1`).all()).toEqual([{ app_id: t.a2.appId, status: 'cancelled' }]);
    const audit = t.g.store.auditLog().filter((r) => r.action === 'cancel');
    expect(audit.map((r) => [r.target_app_id, r.outcome, r.cascade, r.source_app_id]).sort()).toEqual(
      [[t.a.appId, 'cancelled', true, t.root.appId], [t.a1.appId, 'cancelled', true, t.root.appId], [t.a2.appId, 'force_killed', true, t.root.appId]].sort(),
    );
    expect([t.a, t.a1, t.a2].map((x) => t.g.store.getApp(x.appId)?.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    // Siblings of a are untouched.
    expect(t.g.store.getApp(t.b.appId)?.status).toBe('connected');
  });

  it('a declared child that never started is cancelled at once: no crash, no start_failed at its deadline, a late start refused for good', async () => {
    const t = await tree();
    const res = await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${t.b.appId}/cancel?cascade=true&grace=0.2`);
    expect(byName(res.body.nodes).b1).toMatchObject({ outcome: 'cancelled', status: 'cancelled' });
    expect(t.g.store.getApp(t.b1)).toMatchObject({ status: 'cancelled', metadata_json: { cancelled_before_start: true } });
    expect(t.g.store.pendingControls(t.b1)).toEqual([]);
    // A plain cancel of a declared child does the same.
    const lone = crypto.randomUUID();
    await call(t.g, admin(t.g), 'POST', '/api/v1/children', { parentId: t.root.appId, appId: lone, appName: 'lone', startDeadline: 1 });
    const one = await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${lone}/cancel`);
    expect([one.status, one.body.counts]).toEqual([200, { cancelled: 1, force_killed: 0, queued: 0, already_terminal: 0 }]);
    // Past its start deadline it stays cancelled: the sweeper skips it, no never_started crash.
    await new Promise((r) => setTimeout(r, 2300));
    for (const id of [t.b1, lone]) {
      expect(t.g.store.getApp(id)?.status).toBe('cancelled');
      expect(t.g.store.crashes({ app_id: id })).toEqual([]);
    }
    // The child starting late is refused for good: app_terminal, socket closed with 4410.
    const late = await SimLink.open(t.g.wsUrl);
    const b1: SimApp = { ...simApp(t.b.appId, 'b1'), appId: t.b1 };
    const closed = new Promise<[number, string]>((resolve) => late.ws.once('close', (code, reason) => resolve([code, String(reason)])));
    const refusal = await late.register(b1);
    expect(refusal).toMatchObject({ type: 'error', code: 'app_terminal', app_id: t.b1 });
    const [code, reason] = await closed;
    expect(isFinalClose(code)).toBe(true);
    expect(reason).toBe(`${String(refusal.code)} ${t.b1}`);
    expect(t.g.store.getApp(t.b1)?.status).toBe('cancelled');
  });

  it('a queued cancel that expires marks its node cancelled (crashed, may still return)', async () => {
    const t = await tree({ controlTtlMs: 1200 });
    const crashed = await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${t.e.appId}/cancel`);
    expect(crashed.body.nodes).toMatchObject([{ app_name: 'e', outcome: 'queued', status: 'crashed' }]);
    const corr = crashed.body.nodes[0].correlation_id as string;
    await until(() => t.g.store.getApp(t.e.appId)?.status === 'cancelled', 4000, 'e cancelled at expiry');
    expect(t.g.store.getControl(corr)?.status).toBe('expired');
    expect(t.g.store.getApp(t.e.appId)?.metadata_json).toMatchObject({ cancel_expired: true });
  });

  it('without cascade only the node is cancelled; a finished app is 409; bad queries 400; self 403', async () => {
    const t = await tree();
    const one = await call(t.g, as(t.root), 'POST', `/api/v1/apps/${t.a1.appId}/cancel`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ cascade: false, grace_seconds: 30, counts: { cancelled: 1, force_killed: 0, queued: 0, already_terminal: 0 } });
    expect(one.body.nodes.map((x: { app_name: string }) => x.app_name)).toEqual(['a1']);
    const again = await call(t.g, as(t.root), 'POST', `/api/v1/apps/${t.a1.appId}/cancel`);
    expect([again.status, again.body.error.code, again.body.error.message]).toEqual([409, 'conflict', `app ${t.a1.appId} is already cancelled`]);
    expect((await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${t.d.appId}/cancel?cascade=true`)).status).toBe(409);
    for (const q of ['cascade=yes', 'grace=-1', 'grace=3601', 'grace=soon', 'now=1']) {
      const res = await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${t.a.appId}/cancel?${q}`);
      expect([q, res.status, res.body.error.code]).toEqual([q, 400, 'bad_request']);
    }
    const self = await call(t.g, as(t.a), 'POST', `/api/v1/apps/${t.a.appId}/cancel?cascade=true`);
    expect(self.status).toBe(403);
    const sibling = await call(t.g, as(t.a), 'POST', `/api/v1/apps/${t.b.appId}/cancel`);
    expect(sibling.status).toBe(403);
    expect((await call(t.g, admin(t.g), 'POST', `/api/v1/apps/${crypto.randomUUID()}/cancel`)).status).toBe(404);
    expect(t.g.store.getApp(t.a.appId)?.status).toBe('connected');
    expect(t.g.store.getApp(t.b.appId)?.status).toBe('connected');
    expect(t.g.store.auditLog().filter((r) => r.outcome === 'refused:403').map((r) => r.target_app_id)).toEqual([t.b.appId, t.a.appId]);
  });
});
