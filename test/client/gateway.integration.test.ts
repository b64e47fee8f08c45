/**
 * The client against the real gateway (SQLite store, ws server) started in
 * this process. What is checked is what the gateway stored, not only what
 * the client believes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig, type GatewayConfig } from '../../gateway/config.js';
import { TrailsClient, type ClientOptions } from '../../client/client.js';
import type { TrailsConfig } from '../../client/config.js';
import { TrailsConnection } from '../../client/connection.js';
import { silentLogger } from '../../client/log.js';
import { until } from './fake-gateway.js';

let dataDir: string;
let gw: RunningGateway | undefined;
const clients: TrailsClient[] = [];
const opts: ClientOptions = { logger: silentLogger, backoff: { baseMs: 20, maxMs: 200 } };

function gatewayConfig(over: Partial<GatewayConfig> = {}): GatewayConfig {
  return { ...defaultConfig(), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', registration: 'open', ...over };
}

function config(g: RunningGateway, over: Partial<TrailsConfig> = {}): TrailsConfig {
  return { v: 1, appId: randomUUID(), parentId: null, appName: 'it', serverEp: g.url, serverPubKey: g.identity.publicKeyText, secLevel: 'open', ...over };
}

function client(cfg: TrailsConfig, extra: ClientOptions = {}): TrailsClient {
  const c = TrailsClient.initWith(cfg, { ...opts, ...extra });
  clients.push(c);
  return c;
}

const inbound = (g: RunningGateway, appId: string) => g.store.messages(appId).filter((m) => m.direction === 'in');

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'trails-client-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.shutdown({ flushMs: 0 })));
  await gw?.stop();
  gw = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('client ↔ gateway', () => {
  it('register, status, result: the gateway stores them and the app is done', async () => {
    gw = await startGateway(gatewayConfig());
    const c = client(config(gw, { roleRefs: ['ops'] }));
    c.status({ phase: 'scan', progress: 0.5 });
    c.result({ files: 3 });
    await until(() => c.state === 'finished', 5000, 'finished');
    const app = gw.store.getApp(c.appId!)!;
    expect(app.status).toBe('done');
    expect(app.pub_key).toBe(c.publicKey);
    expect(app.pid).toBe(process.pid);
    expect(app.last_seq).toBe(2);
    const msgs = inbound(gw, c.appId!);
    expect(msgs.map((m) => [m.seq, m.msg_type, m.payload_json])).toEqual([
      [1, 'Status', { phase: 'scan', progress: 0.5 }],
      [2, 'Result', { files: 3 }],
    ]);
  });

  it('error() ends the app in error; shutdown() without a result ends it done', async () => {
    gw = await startGateway(gatewayConfig());
    const bad = client(config(gw));
    bad.error('disk full', { free: 0 });
    const good = client(config(gw));
    good.status({ working: true });
    await good.shutdown();
    await until(() => bad.state === 'finished');
    await until(() => gw!.store.getApp(good.appId!)?.status === 'done', 2000, 'done');
    expect(gw.store.getApp(bad.appId!)!.status).toBe('error');
    expect(inbound(gw, bad.appId!)[0]!.payload_json).toEqual({ message: 'disk full', detail: { free: 0 } });
    expect(inbound(gw, good.appId!)).toHaveLength(1);
  });

  it('shutdown() straight after init() still registers and disconnects: done, not crashed', async () => {
    gw = await startGateway(gatewayConfig());
    const c = client(config(gw));
    await c.shutdown();
    const g = gw;
    await until(() => g.store.getApp(c.appId!)?.status === 'done', 2000, 'done');
    expect(g.store.crashes({ app_id: c.appId! })).toHaveLength(0);
  });

  it('signed tier end to end, with a child registered under its parent', async () => {
    gw = await startGateway(gatewayConfig({ minSecLevel: 'signed' }));
    const parent = client(config(gw, { secLevel: 'signed' }));
    await parent.events.next('registered');
    const child = client(parent.createChild('worker')!);
    const reg = await child.events.next('registered');
    expect(reg.secLevel).toBe('signed');
    child.status({ step: 1 });
    child.result({ ok: true });
    await until(() => child.state === 'finished', 5000, 'child finished');
    const row = gw.store.getApp(child.appId!)!;
    expect(row).toMatchObject({ status: 'done', sec_level: 'signed', parent_id: parent.appId });
    expect(inbound(gw, child.appId!).map((m) => m.seq)).toEqual([1, 2]);
    // An open client is refused by this gateway, and gives up.
    const open = client(config(gw));
    expect((await open.events.next('error')).code).toBe('tier_mismatch');
    await until(() => open.state === 'failed');
  });

  it('multiplexes two identities on one connection', async () => {
    gw = await startGateway(gatewayConfig());
    const conn = new TrailsConnection(gw.wsUrl, { logger: silentLogger });
    const a = client(config(gw, { appName: 'a' }), { connection: conn });
    const b = client(config(gw, { appName: 'b' }), { connection: conn });
    a.status({ who: 'a' });
    b.status({ who: 'b', n: 1 });
    b.status({ who: 'b', n: 2 });
    expect(await a.flush(3000)).toBe(true);
    expect(await b.flush(3000)).toBe(true);
    expect(gw.devices.size).toBe(1);
    expect(conn.connects).toBe(1);
    a.result({ a: 'done' });
    await until(() => a.state === 'finished');
    // b is still live on the same socket after a ended.
    b.result({ b: 'done' });
    await until(() => b.state === 'finished');
    expect(gw.store.getApp(a.appId!)!.status).toBe('done');
    expect(gw.store.getApp(b.appId!)!.status).toBe('done');
    expect(inbound(gw, a.appId!).map((m) => m.seq)).toEqual([1, 2]);
    expect(inbound(gw, b.appId!).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(conn.connects).toBe(1);
  });

  it('reconnects after a gateway restart; messages sent meanwhile arrive exactly once', async () => {
    gw = await startGateway(gatewayConfig());
    const port = gw.port;
    const c = client(config(gw));
    c.status({ n: 1 });
    expect(await c.flush(3000)).toBe(true);
    c.status({ n: 2 }); // may or may not be stored before the stop: either way it must land once

    await gw.stop();
    gw = undefined;
    await until(() => !c.isConnected, 3000, 'disconnect noticed');
    for (let n = 3; n <= 12; n++) c.status({ n });
    expect(c.pendingCount).toBeGreaterThanOrEqual(10);

    gw = await startGateway(gatewayConfig({ port }));
    const reg = await c.events.next('registered', undefined, 10_000);
    expect(reg.resumed).toBe(true);
    expect(await c.flush(5000)).toBe(true);
    c.result({ n: 13 });
    await until(() => c.state === 'finished', 5000, 'finished');

    const g = gw;
    const seqs = inbound(g, c.appId!).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(inbound(g, c.appId!).map((m) => (m.payload_json as { n: number }).n)).toEqual(seqs);
    expect(g.store.getApp(c.appId!)!.status).toBe('done');
  });

  it('answers a control sent through the hub with an on() handler', async () => {
    gw = await startGateway(gatewayConfig());
    const c = client(config(gw));
    c.on('reconfig', async (payload) => ({ applied: payload, at: 'device' }));
    await c.events.next('registered');
    const { done } = gw.hub.controls.send({ appId: c.appId!, action: 'reconfig', payload: { batch: 64 }, origin: 'admin' });
    const outcome = await done;
    expect(outcome.status).toBe('answered');
    expect(outcome.response).toEqual({ ack: true, result: { applied: { batch: 64 }, at: 'device' } });

    const unknown = await gw.hub.controls.send({ appId: c.appId!, action: 'nope', origin: 'admin' }).done;
    expect(unknown.status).toBe('answered');
    expect(unknown.response).toMatchObject({ ack: false, error: 'unknown_action' });
  });

  it('cancel through the hub: hook runs, answered cancelled, app disconnects', async () => {
    gw = await startGateway(gatewayConfig({ minSecLevel: 'signed' }));
    const c = client(config(gw, { secLevel: 'signed' }));
    let hookRan = false;
    c.onCancel(500, () => {
      hookRan = true;
      c.status({ checkpoint: 'saved' });
    });
    await c.events.next('registered');
    const outcome = await gw.hub.controls.send({ appId: c.appId!, action: 'cancel', payload: { reason: 'test' }, origin: 'admin' }).done;
    expect(hookRan).toBe(true);
    expect(outcome.response).toEqual({ ack: true, result: { cancelled: true } });
    await until(() => c.state === 'finished');
    const g = gw;
    await until(() => g.store.getApp(c.appId!)!.disconnected_at !== null, 2000, 'disconnect stored');
    expect(g.store.getApp(c.appId!)!.status).toBe('cancelled');
    expect(inbound(g, c.appId!).map((m) => m.payload_json)).toEqual([{ checkpoint: 'saved' }]);
  });
});
