/**
 * Socket caps over real sockets (docs/PROTOCOL.md "Connection caps"): per
 * remote address, for sockets that have not registered, in all, and for
 * watch sockets. Two loopback addresses (127.0.0.1 and 127.0.0.2) stand for
 * two hosts of the LAN.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../gateway/config.js';
import { signRequest } from '../../gateway/auth/request-signing.js';
import { Device } from '../support/hub-harness.js';
import { withGateway } from '../support/gateway.js';
import { until } from '../support/until.js';

type Gw = Awaited<ReturnType<typeof withGateway>>;
type Opened = { ok: true; ws: WebSocket; frames: Array<Record<string, unknown>> } | { ok: false; status: number; refused: string | undefined; body: any };

let gw: Gw | undefined;
const open: WebSocket[] = [];
afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await gw?.cleanup();
  gw = undefined;
});

async function start(over: Partial<GatewayConfig>): Promise<Gw> {
  gw = await withGateway({ heartbeatMs: 0, ...over });
  return gw;
}

function tryOpen(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<Opened> {
  const ws = new WebSocket(url, { localAddress, headers, perMessageDeflate: false });
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      open.push(ws);
      resolve({ ok: true, ws, frames });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, refused: res.headers['x-trails-refused'] as string | undefined, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

async function registered(url: string, localAddress: string): Promise<WebSocket> {
  const o = await tryOpen(url, localAddress);
  if (!o.ok) throw new Error(`refused ${o.status}`);
  o.ws.send(JSON.stringify(new Device(undefined, 'open', null, Date.now()).register()));
  await until(() => o.frames.some((f) => f.type === 'registered'), 5000, 'registered');
  return o.ws;
}

const refusal = (o: Opened) => (o.ok ? 'opened' : [o.status, o.refused, o.body.error.code]);

describe('per-address device socket cap', () => {
  it('refuses the N+1th socket of one address with 429, while another address is still served', async () => {
    const g = await start({ maxConnectionsPerAddress: 3, maxUnregisteredPerAddress: 3 });
    for (let i = 0; i < 3; i++) await registered(g.wsUrl, '127.0.0.1');
    const fourth = await tryOpen(g.wsUrl, '127.0.0.1');
    expect(refusal(fourth)).toEqual([429, 'too_many_connections_from_address', 'too_many_connections_from_address']);
    expect(!fourth.ok && fourth.body.error.message).toMatch(/--max-connections-per-address/);
    // Another host is served, and can register.
    const other = await registered(g.wsUrl, '127.0.0.2');
    expect(other.readyState).toBe(WebSocket.OPEN);
    expect(g.devices.heldBy('127.0.0.1')).toEqual({ sockets: 3, unregistered: 0 });
    // A slot freed is a slot again.
    open[0]!.close();
    await until(() => g.devices.heldBy('127.0.0.1').sockets === 2, 5000, 'slot freed');
    expect((await tryOpen(g.wsUrl, '127.0.0.1')).ok).toBe(true);
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
  });

  it('bounds the sockets of one address that never register; registering frees the slot', async () => {
    const g = await start({ maxConnectionsPerAddress: 10, maxUnregisteredPerAddress: 2 });
    const a = await tryOpen(g.wsUrl, '127.0.0.1');
    const b = await tryOpen(g.wsUrl, '127.0.0.1');
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(refusal(await tryOpen(g.wsUrl, '127.0.0.1'))).toEqual([429, 'too_many_unregistered_from_address', 'too_many_unregistered_from_address']);
    expect((await tryOpen(g.wsUrl, '127.0.0.2')).ok).toBe(true);
    // One of the silent sockets registers: it no longer counts as unregistered.
    if (a.ok) a.ws.send(JSON.stringify(new Device(undefined, 'open', null, Date.now()).register()));
    await until(() => g.devices.heldBy('127.0.0.1').unregistered === 1, 5000, 'registered');
    expect((await tryOpen(g.wsUrl, '127.0.0.1')).ok).toBe(true);
    expect(g.devices.heldBy('127.0.0.1')).toEqual({ sockets: 3, unregistered: 2 });
  });

  it('a full gateway answers 503 too_many_connections whatever the address', async () => {
    const g = await start({ maxConnections: 2 });
    await registered(g.wsUrl, '127.0.0.1');
    await registered(g.wsUrl, '127.0.0.2');
    expect(refusal(await tryOpen(g.wsUrl, '127.0.0.3'))).toEqual([503, 'too_many_connections', 'too_many_connections']);
  });

  it('the defaults: 64 sockets an address, 16 of them unregistered', async () => {
    const g = await start({});
    const silent = await Promise.all(Array.from({ length: 16 }, () => tryOpen(g.wsUrl, '127.0.0.1')));
    expect(silent.every((o) => o.ok)).toBe(true);
    expect(refusal(await tryOpen(g.wsUrl, '127.0.0.1'))).toEqual([429, 'too_many_unregistered_from_address', 'too_many_unregistered_from_address']);
    for (let i = 0; i < 64; i++) await registered(g.wsUrl, '127.0.0.4');
    expect(refusal(await tryOpen(g.wsUrl, '127.0.0.4'))).toEqual([429, 'too_many_connections_from_address', 'too_many_connections_from_address']);
  }, 30_000);
});

describe('watch socket caps', () => {
  it('refuses the watch beyond --max-watchers-per-address with 429, before any signature check', async () => {
    const g = await start({ maxWatchersPerAddress: 1 });
    const watchUrl = `${g.url.replace(/^http/, 'ws')}/api/v1/watch`;
    const signed = () => signRequest({ method: 'GET', path: '/api/v1/watch', key: g.admin.pair });
    expect((await tryOpen(watchUrl, '127.0.0.1', signed())).ok).toBe(true);
    await until(() => g.watch.size === 1, 5000, 'watching');
    const second = await tryOpen(watchUrl, '127.0.0.1', signed());
    expect([!second.ok && second.status, !second.ok && second.body.error.code]).toEqual([429, 'too_many_watchers_from_address']);
    // Unsigned: refused by the cap, not by authentication (no 401 to count).
    expect(refusal(await tryOpen(watchUrl, '127.0.0.1'))).toEqual([429, undefined, 'too_many_watchers_from_address']);
    expect((await tryOpen(watchUrl, '127.0.0.2', signed())).ok).toBe(true);
  });

  it('refuses the watch beyond --max-watchers with 503', async () => {
    const g = await start({ maxWatchers: 1 });
    const watchUrl = `${g.url.replace(/^http/, 'ws')}/api/v1/watch`;
    const signed = () => signRequest({ method: 'GET', path: '/api/v1/watch', key: g.admin.pair });
    expect((await tryOpen(watchUrl, '127.0.0.1', signed())).ok).toBe(true);
    await until(() => g.watch.size === 1, 5000, 'watching');
    const full = await tryOpen(watchUrl, '127.0.0.2', signed());
    expect([!full.ok && full.status, !full.ok && full.body.error.code]).toEqual([503, 'too_many_watchers']);
  });
});
