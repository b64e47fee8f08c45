/**
 * The encrypted tier end to end: the TypeScript client against the real
 * gateway, with a spy under the client's transport to see what travels.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig } from '../../gateway/config.js';
import { TrailsClient } from '../../client/client.js';
import { TrailsConfigError } from '../../client/config.js';
import { TrailsConnection } from '../../client/connection.js';
import { silentLogger } from '../../client/log.js';
import { wsTransport, type Transport } from '../../client/transport.js';
import { until } from './fake-gateway.js';

let dataDir: string;
let gw: RunningGateway | undefined;
let client: TrailsClient | undefined;

/** Records every frame the client puts on the wire. */
function spyTransport(wire: Array<string | Uint8Array>): Transport {
  const inner = wsTransport();
  return {
    open(url, h) {
      const s = inner.open(url, h);
      return {
        send: (t) => (wire.push(t), s.send(t)),
        sendBinary: (d) => (wire.push(d), s.sendBinary!(d)),
        close: (c, r) => s.close(c, r),
      };
    },
  };
}

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trails-enc-'));
  gw = await startGateway({ ...defaultConfig(), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', registration: 'open' });
});

afterEach(async () => {
  await client?.shutdown({ flushMs: 0 });
  await gw?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('encrypted tier: client ↔ gateway', () => {
  it('reports, answers a control and finishes, with nothing but the handshake in the clear', async () => {
    const wire: Array<string | Uint8Array> = [];
    const appId = randomUUID();
    client = TrailsClient.initWith(
      { v: 1, appId, parentId: null, appName: 'door-lock', serverEp: gw!.url, serverPubKey: gw!.identity.publicKeyText, secLevel: 'encrypted' },
      { logger: silentLogger, transport: spyTransport(wire) },
    );
    client.on('unlock', (p) => ({ unlocked: (p as { door: string }).door }));
    client.status({ battery: 0.8, secret: 'door code 4711' });
    await until(() => gw!.store.messages(appId).length === 1);
    const { done } = gw!.hub.controls.send({ appId, action: 'unlock', payload: { door: 'front' }, origin: 'admin' });
    await expect(done).resolves.toMatchObject({ status: 'answered', response: { ack: true, result: { unlocked: 'front' } } });
    client.result({ ok: true });
    await until(() => gw!.store.getApp(appId)?.status === 'done');
    expect(gw!.store.getApp(appId)?.sec_level).toBe('encrypted');
    expect(gw!.store.latestSnapshot(appId)?.snapshot_json).toEqual({ battery: 0.8, secret: 'door code 4711' });
    const text = wire.filter((f): f is string => typeof f === 'string');
    expect(text.map((t) => (JSON.parse(t) as { type: string }).type)).toEqual(['register']);
    expect(wire.filter((f) => typeof f !== 'string').length).toBeGreaterThanOrEqual(3);
    expect(wire.some((f) => Buffer.from(f).includes('4711'))).toBe(false);
  });

  it('survives a gateway restart with a new session (re_register with a fresh ephemeral key)', async () => {
    const appId = randomUUID();
    const port = gw!.port;
    client = TrailsClient.initWith(
      { v: 1, appId, parentId: null, appName: 'sensor', serverEp: gw!.url, serverPubKey: gw!.identity.publicKeyText, secLevel: 'encrypted' },
      { logger: silentLogger, backoff: { baseMs: 20, maxMs: 200 } },
    );
    client.status({ n: 1 });
    await until(() => gw!.store.messages(appId).length === 1);
    await gw!.stop();
    gw = await startGateway({ ...defaultConfig(), dataDir, host: '127.0.0.1', port, logLevel: 'silent', registration: 'open' });
    client.status({ n: 2 });
    await until(() => gw!.store.messages(appId).length === 2, 10_000);
    expect(gw!.store.messages(appId).map((m) => m.payload_json)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(gw!.store.getApp(appId)?.status).toBe('running');
  });

  it('refuses a shared connection or a config without serverPubKey', () => {
    const base = { v: 1, appId: randomUUID(), parentId: null, appName: 'x', serverEp: gw!.url, secLevel: 'encrypted' as const };
    expect(() => TrailsClient.initWith({ ...base, serverPubKey: null }, { logger: silentLogger })).toThrow(TrailsConfigError);
    const shared = new TrailsConnection(gw!.url, { logger: silentLogger });
    expect(() => TrailsClient.initWith({ ...base, serverPubKey: gw!.identity.publicKeyText }, { logger: silentLogger, connection: shared })).toThrow(/own connection/);
  });
});
