/**
 * Refusals of unauthenticated requests are counted per address, action and
 * reason and written as one row with a count when the interval ends (issue
 * 11: 2,000 unsigned requests with a 7 KB query used to add 2,000 rows and
 * 15 MB); a refusal of a signed, authenticated request keeps its own row.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { startGateway } from '../../gateway/app.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import { as, call, cleanDirs, flushRefusals, startTestGateway, testConfig, until } from './support/api-harness.js';
import { SimLink, simApp } from './support/sim-device.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});
afterAll(cleanDirs);

const sum = (rows: Array<{ count: number }>): number => rows.reduce((n, r) => n + r.count, 0);

describe('refusals of unauthenticated requests', () => {
  it('2,000 unsigned requests with a 7 KB query become a handful of counted rows, with no query kept', async () => {
    gw = await startTestGateway();
    const g = gw;
    const query = `?junk=${'x'.repeat(7 * 1024)}`;
    for (let i = 0; i < 2000; i++) {
      const path = i % 2 === 0 ? `/api/v1/apps${query}` : `/api/v1/apps/${crypto.randomUUID()}${query}`;
      const res = await g.http.inject({ method: 'GET', url: path, headers: { 'user-agent': `flood/${'u'.repeat(600)}` } });
      expect(res.statusCode).toBe(401);
    }
    expect(g.store.auditLog()).toEqual([]);
    await flushRefusals(g);
    const rows = g.store.auditLog({ limit: 1000 });
    expect(rows.map((r) => [r.action, r.outcome, r.count, r.source_ip]).sort()).toEqual([
      ['get_app', 'refused:401:unauthenticated', 1000, '127.0.0.1'],
      ['list_apps', 'refused:401:unauthenticated', 1000, '127.0.0.1'],
    ]);
    for (const r of rows) {
      const p = r.payload_json as { path: string; first_at: string; last_at: string };
      expect(p.path).not.toContain('?');
      expect(p.path.length).toBeLessThanOrEqual(256);
      expect(r.user_agent!.length).toBeLessThanOrEqual(128);
      expect(JSON.stringify(r).length).toBeLessThan(1024);
      expect(p.first_at <= p.last_at).toBe(true);
    }
  }, 60_000);

  it('a counted row is written when the interval ends, and the next interval starts anew', async () => {
    const clock = new ManualClock(Date.now());
    gw = await startGateway(testConfig({ refusalIntervalMs: 60_000 }), { clock });
    const g = gw;
    const knock = async (n: number) => {
      for (let i = 0; i < n; i++) expect((await g.http.inject({ method: 'GET', url: '/api/v1/apps' })).statusCode).toBe(401);
    };
    const committed = () => new Promise<void>((resolve) => g.hub.deps.committer.enqueue(() => {}, () => resolve()));
    await knock(5);
    clock.advance(59_000);
    await committed();
    expect(g.store.auditLog()).toEqual([]);
    clock.advance(1_000);
    await committed();
    expect(g.store.auditLog().map((r) => r.count)).toEqual([5]);
    await knock(3);
    clock.advance(60_000);
    await committed();
    expect(g.store.auditLog().map((r) => r.count)).toEqual([3, 5]);
  });

  it('a signed request refused with 403 still writes its own row at once', async () => {
    gw = await startTestGateway();
    const link = await SimLink.open(gw.wsUrl);
    try {
      const a = simApp(null, 'a');
      const b = simApp(null, 'b');
      await link.register(a);
      await link.register(b);
      for (let i = 0; i < 3; i++) {
        const res = await call(gw, as(a), 'GET', `/api/v1/apps/${b.appId}`);
        expect(res.status).toBe(403);
      }
      const rows = gw.store.auditLog().filter((r) => r.outcome === 'refused:403');
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.count === 1 && r.source_app_id === a.appId && r.auth_domain === 'tree' && r.target_app_id === b.appId)).toBe(true);
      // A finished app's valid signature is refused 403 with its own row; the request target in it is bounded.
      link.status(b, { done: true }, 'Result');
      const g = gw;
      await until(() => g.store.getApp(b.appId)?.status === 'done', 2000, 'Result stored');
      const finished = await call(gw, as(b), 'GET', `/api/v1/apps?junk=${'q'.repeat(3000)}`);
      expect([finished.status, finished.body.error.code]).toEqual([403, 'app_terminal']);
      const [row] = gw.store.auditLog({ limit: 1 });
      expect(row).toMatchObject({ action: 'list_apps', outcome: 'refused:403:app_terminal', count: 1 });
      expect((row!.payload_json as { path: string }).path).toHaveLength(512);
    } finally {
      link.close();
    }
  });

  it('what was counted is written at a graceful stop', async () => {
    const config = testConfig();
    gw = await startGateway(config);
    for (let i = 0; i < 7; i++) await gw.http.inject({ method: 'DELETE', url: `/api/v1/children/${crypto.randomUUID()}` });
    await gw.stop();
    gw = await startGateway(config);
    const rows = gw.store.auditLog();
    expect(rows.map((r) => [r.action, r.outcome, r.count])).toEqual([['withdraw_child', 'refused:401:unauthenticated', 7]]);
    expect(sum(rows)).toBe(7);
  });
});

describe('audit retention in the gateway', () => {
  it('--audit-max-rows and --audit-retention-days are enforced by the periodic sweep, in batches', async () => {
    const clock = new ManualClock(Date.now());
    gw = await startGateway(testConfig({ auditMaxRows: 500, auditRetentionMs: 86_400_000 }), { clock });
    const g = gw;
    const now = clock.now();
    g.store.transaction((w) => {
      for (let i = 0; i < 2500; i++) {
        w.insertAudit({ timestamp: new Date(now - (i < 100 ? 2 * 86_400_000 : 0)).toISOString(), action: 'cancel', target_app_id: null, cascade: false, payload_json: null, auth_domain: 'local', source_app_id: null, oauth_subject: null, source_ip: null, user_agent: null, outcome: 'ok' });
      }
    });
    const committed = () => new Promise<void>((resolve) => g.hub.deps.committer.enqueue(() => {}, () => resolve()));
    clock.advance(60_000);
    await committed();
    expect(g.auditRetention.deleted).toBe(1000);
    for (let i = 0; i < 5 && g.auditRetention.isSweeping; i++) {
      clock.advance(0);
      await committed();
    }
    expect(g.auditRetention.deleted).toBe(2000);
    const left = g.store.auditLog({ limit: 10_000 });
    expect(left).toHaveLength(500);
    expect(left.every((r) => r.timestamp >= new Date(now - 86_400_000).toISOString())).toBe(true);
  });
});
