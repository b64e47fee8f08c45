/**
 * Watch flow control and framing: a watcher that reads nothing is dropped
 * (1013) instead of buffering without bound, events of one turn travel as
 * one batch frame, and channels match events the way the filters say.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { ApiContext } from '../../gateway/api/context.js';
import { Channel, eventFrame, parseWatchFilter } from '../../gateway/api/watch-channels.js';
import { WatchServer } from '../../gateway/api/watch.js';
import { RequestAuthenticator } from '../../gateway/auth/authenticator.js';
import { signRequest } from '../../gateway/auth/request-signing.js';
import type { GatewayEvent } from '../../gateway/events.js';
import { systemClock } from '../../gateway/ports/clock.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { admin, cleanDirs, startTestGateway, until } from './support/api-harness.js';
import { openWatch } from './support/watch-client.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});
afterAll(cleanDirs);

const ev = (app_id: string, parent_id: string | null, extra: Partial<GatewayEvent> = {}): GatewayEvent =>
  ({ type: 'app_status', app_id, parent_id, namespace: 'home', at: new Date(0).toISOString(), status: 'connected', ...extra }) as GatewayEvent;

describe('watch channels', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const C = '00000000-0000-4000-8000-00000000000c';

  it('a parent_id channel grows with apps that join the subtree and ignores the rest', () => {
    const ch = new Channel('k', { parent_id: A }, new MemoryStore());
    expect(ch.matches(ev(A, null))).toBe(false);
    expect(ch.matches(ev(B, A))).toBe(true);
    expect(ch.matches(ev(C, B))).toBe(true);
    expect(ch.matches({ ...ev(C, B), type: 'message', msg_type: 'Status', seq: 1, payload: {} } as GatewayEvent)).toBe(true);
    expect(ch.matches(ev('00000000-0000-4000-8000-0000000000ff', null))).toBe(false);
  });

  it('an app_id channel closes on a terminal status; a namespace filter applies on top', () => {
    const ch = new Channel('k', { app_id: B, namespace: 'home' }, new MemoryStore());
    expect(ch.matches(ev(B, A))).toBe(true);
    expect(ch.matches(ev(B, A, { namespace: 'lab' }))).toBe(false);
    ch.push({ event: ev(B, A, { status: 'running' } as Partial<GatewayEvent>) });
    expect(ch.closing).toBe(false);
    ch.push({ event: ev(B, A, { status: 'cancelled' } as Partial<GatewayEvent>) });
    expect(ch.closing).toBe(true);
  });

  it('frames one event as {type:event} and several as one {type:events} batch', () => {
    expect(eventFrame([])).toBeUndefined();
    expect(JSON.parse(String(eventFrame(['{"a":1}'])))).toEqual({ type: 'event', event: { a: 1 } });
    expect(JSON.parse(String(eventFrame(['{"a":1}', '{"b":2}'])))).toEqual({ type: 'events', events: [{ a: 1 }, { b: 2 }] });
  });

  it('parses filters strictly', () => {
    expect(parseWatchFilter(`/api/v1/watch?app_id=${A.toUpperCase()}&namespace=x`)).toEqual({ ok: true, filter: { app_id: A, namespace: 'x' } });
    expect(parseWatchFilter('/api/v1/watch')).toEqual({ ok: true, filter: {} });
    expect(parseWatchFilter('/api/v1/watch?namespace=')).toMatchObject({ ok: false });
  });
});

/** A gateway with an admin watch of everything, caught up; `raw` collects its frames as sent. */
async function watchEverything() {
  gw = await startTestGateway();
  const g = gw;
  const res = await openWatch(g, admin(g), '');
  if (!res.ok) throw new Error('refused');
  const raw: string[] = [];
  res.client.ws.on('message', (d) => raw.push(String(d)));
  await res.client.next((m) => m.type === 'caught_up');
  return { g, res, raw };
}

describe('watch flow control', () => {
  it('a watcher that reads nothing is dropped once its buffer passes the limit; the bus goes on', async () => {
    gw = await startTestGateway();
    const g = gw;
    const ctx = new ApiContext(g.hub, g.store);
    const auth = new RequestAuthenticator({ store: g.store, committer: g.hub.deps.committer, clock: systemClock, adminKey: g.admin.publicKeyText, statusOf: () => undefined });
    const slow = new WatchServer(ctx, auth, g.events, { maxBufferedBytes: 64 * 1024 });
    g.upgrades.set('/slow-watch', (req, socket, head) => slow.handleUpgrade(req, socket, head));
    const path = '/slow-watch';
    const headers = signRequest({ method: 'GET', path, key: g.admin.pair });
    const sock = connect(g.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${g.port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    sock.pause(); // never reads: the kernel buffers fill, then ws buffers
    await until(() => slow.size === 1, 3000, 'slow watcher accepted');
    const big = 'x'.repeat(64 * 1024);
    let sent = 0;
    for (; sent < 2000 && slow.size > 0; sent++) {
      // Results: each goes out in its turn (a Status would wait for the window and could be superseded).
      g.events.emit({ type: 'message', app_id: '00000000-0000-4000-8000-000000000001', parent_id: null, namespace: null, at: 'now', msg_type: 'Result', seq: sent, payload: big });
      await new Promise((r) => setImmediate(r));
    }
    expect(slow.size).toBe(0);
    expect(sent).toBeLessThan(2000);
    sock.destroy();
    slow.close();
  });

  it('events of one turn reach a watcher as one batch', async () => {
    const { g, res, raw } = await watchEverything();
    for (let i = 0; i < 5; i++) g.events.emit(ev(`00000000-0000-4000-8000-00000000000${i}`, null));
    await res.client.next((m) => m.type === 'event' && m.event.app_id.endsWith('4'));
    expect(raw.map((t) => JSON.parse(t).type)).toEqual(['events']);
    expect(JSON.parse(raw[0]!).events).toHaveLength(5);
    res.client.close();
  });

  it('on a subtree-wide watch a newer Status supersedes a waiting one; other events flush at once and keep their place', async () => {
    const { g, res, raw } = await watchEverything();
    const A = '00000000-0000-4000-8000-00000000000a';
    const B = '00000000-0000-4000-8000-00000000000b';
    const status = (app: string, seq: number) => ({ type: 'message' as const, app_id: app, parent_id: null, namespace: null, at: 'now', msg_type: 'Status' as const, seq, payload: { n: seq } });
    g.events.emit(status(A, 1));
    g.events.emit(status(B, 1));
    g.events.emit(status(A, 2));
    await new Promise((r) => setTimeout(r, 20));
    expect(raw).toEqual([]); // Status only: waits for the window
    g.events.emit({ ...status(A, 3), msg_type: 'Result', payload: { ok: true } });
    await res.client.next((m) => m.type === 'event' && m.event.msg_type === 'Result');
    expect(raw).toHaveLength(1);
    const got = JSON.parse(raw[0]!).events.map((e: { app_id: string; seq: number; msg_type: string }) => `${e.app_id.slice(-1)}${e.seq}${e.msg_type[0]}`);
    expect(got).toEqual(['b1S', 'a2S', 'a3R']);
    res.client.close();
  });
});
