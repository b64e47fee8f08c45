import { afterEach, describe, expect, it } from 'vitest';
import { TrailsClient, type ClientOptions } from '../../client/client.js';
import { encodeTrailsInfo, type TrailsConfig } from '../../client/config.js';
import { TrailsConnection } from '../../client/connection.js';
import type { TrailsLogger } from '../../client/log.js';
import { FakeGateway, quiet, tick, until, type Frame } from './fake-gateway.js';

const clients: TrailsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.shutdown({ flushMs: 0 })));
});

function start(gw: FakeGateway, cfg: Partial<TrailsConfig> = {}, opts: ClientOptions = {}): TrailsClient {
  const c = TrailsClient.initWith(gw.config(cfg), { transport: gw.transport, ...quiet, ...opts });
  clients.push(c);
  return c;
}

const seqs = (frames: Frame[]): number[] => frames.map((f) => f.header.seq as number);

function recordingLogger(): TrailsLogger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (msg: string) => void lines.push(`${level}: ${msg}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

describe('no-op client', () => {
  it('is what init() returns without TRAILS_INFO, and does nothing', async () => {
    const c = TrailsClient.init({});
    expect(c.isActive).toBe(false);
    expect(c.state).toBe('inactive');
    expect(c.appId).toBeNull();
    c.status({ x: 1 });
    c.result({ ok: true });
    c.error('boom');
    c.on('x', () => 1).onCancel(10, () => {});
    expect(c.createChild('kid')).toBeNull();
    expect(await c.flush(10)).toBe(true);
    await c.shutdown();
    expect(c.seq).toBe(0);
    expect(c.pendingCount).toBe(0);
  });

  it('is also what init() returns for an undecodable TRAILS_INFO (logged)', () => {
    const log = recordingLogger();
    const c = TrailsClient.init({ TRAILS_INFO: 'bm90IGpzb24=' }, { logger: log });
    expect(c.isActive).toBe(false);
    expect(log.lines.join('\n')).toMatch(/TRAILS_INFO ignored/);
  });

  it('becomes active from a valid TRAILS_INFO', async () => {
    const gw = new FakeGateway();
    const c = TrailsClient.init({ TRAILS_INFO: encodeTrailsInfo(gw.config()) }, { transport: gw.transport, ...quiet });
    clients.push(c);
    expect(c.isActive).toBe(true);
    await c.events.next('registered');
    expect(c.isConnected).toBe(true);
  });
});

describe('data path', () => {
  it('registers with the process facts, then sends messages in order with seq 1, 2, 3', async () => {
    const gw = new FakeGateway();
    const c = start(gw, { roleRefs: ['ops'] });
    c.status({ step: 1 });
    c.status({ step: 2 });
    c.result({ ok: true });
    expect(c.seq).toBe(3);
    expect(await c.flush(2000)).toBe(true);
    const [reg] = gw.frames('register');
    expect(reg).toMatchObject({ app_id: c.appId, parent_id: null, app_name: 'unit', child_pub_key: c.publicKey, sec_level: 'open', role_refs: ['ops'], sig: null });
    expect(reg!.process_info).toMatchObject({ pid: process.pid, ppid: process.ppid });
    expect(typeof reg!.timestamp).toBe('number');
    const msgs = gw.frames('message');
    expect(seqs(msgs)).toEqual([1, 2, 3]);
    expect(msgs.map((m) => m.header.msg_type)).toEqual(['Status', 'Status', 'Result']);
    expect(msgs[2]).toMatchObject({ payload: { ok: true }, header: { correlation_id: null }, sig: null });
    // A stored Result ends the app: the client lets go of the socket.
    await until(() => c.state === 'finished');
    expect(gw.last.state).toBe('closed');
  });

  it('queues while offline and never blocks or throws', async () => {
    const gw = new FakeGateway();
    gw.autoRegister = false;
    const c = start(gw);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) c.status({ i });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(c.pendingCount).toBe(1000);
    expect(gw.frames('message')).toHaveLength(0);
    expect(await c.flush(20)).toBe(false);
  });

  it('logs and drops payloads that are not JSON, without throwing', async () => {
    const gw = new FakeGateway();
    const log = recordingLogger();
    const c = start(gw, {}, { logger: log });
    const dropped: string[] = [];
    c.events.on('dropped', (e) => dropped.push(e.reason));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => c.status(circular)).not.toThrow();
    expect(() => c.status(10n)).not.toThrow();
    expect(() => c.status(() => 1)).not.toThrow();
    c.status({ fine: true, gone: undefined, when: new Date(0) });
    expect(dropped).toHaveLength(3);
    expect(c.seq).toBe(1);
    await c.flush(1000);
    expect(gw.frames('message')[0]!.payload).toEqual({ fine: true, when: '1970-01-01T00:00:00.000Z' });
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('not JSON'))).toBe(true);
  });

  it('sends error(msg, detail) as {message, detail} and nothing after it', async () => {
    const gw = new FakeGateway();
    const c = start(gw);
    c.error('disk full', { path: '/data' });
    c.status({ late: true });
    await until(() => c.state === 'finished');
    const msgs = gw.frames('message');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ header: { msg_type: 'Error', seq: 1 }, payload: { message: 'disk full', detail: { path: '/data' } } });
  });

  it('drops an oversized message instead of poisoning the socket', async () => {
    const gw = new FakeGateway();
    const c = start(gw, {}, { maxFrameBytes: 1024 });
    c.status({ blob: 'x'.repeat(2000) });
    c.status({ small: 1 });
    await c.flush(1000);
    expect(seqs(gw.frames('message'))).toEqual([1]);
    expect(gw.frames('message')[0]!.payload).toEqual({ small: 1 });
  });

  it('keeps at most `window` messages unacked on the wire', async () => {
    const gw = new FakeGateway();
    gw.autoAck = false;
    const c = start(gw, {}, { window: 4 });
    await c.events.next('registered');
    for (let i = 0; i < 10; i++) c.status({ i });
    expect(seqs(gw.frames('message'))).toEqual([1, 2, 3, 4]);
    gw.ack(gw.last, gw.frames('message')[0]!);
    await until(() => gw.frames('message').length === 5);
    expect(seqs(gw.frames('message'))).toEqual([1, 2, 3, 4, 5]);
  });

  it('paces data frames to the configured rate instead of tripping the gateway limit', async () => {
    const gw = new FakeGateway();
    const c = start(gw, {}, { rate: { perSecond: 200, burst: 5 } });
    await c.events.next('registered');
    for (let i = 0; i < 25; i++) c.status({ i });
    // The register frame spent one token of the burst.
    expect(gw.frames('message')).toHaveLength(4);
    const t0 = Date.now();
    expect(await c.flush(3000)).toBe(true);
    // 21 more frames at 200/s take about 100 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
    expect(seqs(gw.frames('message'))).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('bounds the outbox, dropping the oldest Status but keeping the Result', async () => {
    const gw = new FakeGateway();
    gw.autoRegister = false;
    const c = start(gw, {}, { outboxCapacity: 3 });
    for (let i = 1; i <= 5; i++) c.status({ i });
    c.result({ done: true });
    expect(c.pendingCount).toBe(3);
    gw.autoRegister = true;
    gw.last.serverClose(1012, 'restart');
    await until(() => c.state === 'finished');
    expect(seqs(gw.frames('message'))).toEqual([4, 5, 6]);
  });
});

describe('reconnect and resend', () => {
  it('re-sends unacked messages with the same seq and bytes after re_register; acks dedupe', async () => {
    const gw = new FakeGateway();
    gw.autoAck = false;
    const c = start(gw);
    await c.events.next('registered');
    c.status({ a: 1 });
    c.status({ a: 2 });
    c.status({ a: 3 });
    const first = gw.last;
    expect(first.sent.filter((t) => t.includes('"message"'))).toHaveLength(3);
    // The gateway stored seq 1 and 2 but the acks were lost with the socket.
    gw.ack(first, gw.frames('message')[0]!);
    await until(() => c.pendingCount === 2);
    gw.apps.get(c.appId!)!.stored.set(2, JSON.stringify({ a: 2 }));
    gw.autoAck = true;
    const acks: Array<{ seq: number; duplicate: boolean }> = [];
    c.events.on('ack', (a) => acks.push({ seq: a.seq, duplicate: a.duplicate }));
    first.serverClose(1012, 'gateway restarting');
    const reg = await c.events.next('registered');
    expect(reg.resumed).toBe(true);
    expect(await c.flush(2000)).toBe(true);

    const second = gw.last;
    expect(second).not.toBe(first);
    const again = second.frames;
    expect(again[0]).toMatchObject({ type: 're_register', app_id: c.appId, pub_key: c.publicKey, last_seq: 3 });
    expect(seqs(again.filter((f) => f.type === 'message'))).toEqual([2, 3]);
    // Byte-identical re-send (same timestamp, same signature when signed).
    const firstText = first.sent.filter((t) => t.includes('"seq":2'))[0];
    expect(second.sent).toContain(firstText);
    expect(acks).toEqual([
      { seq: 2, duplicate: true },
      { seq: 3, duplicate: false },
    ]);
    expect(gw.apps.get(c.appId!)!.stored.size).toBe(3);
  });

  it('falls back to register when the gateway does not know the app on re_register', async () => {
    const gw = new FakeGateway();
    const c = start(gw);
    await c.events.next('registered');
    gw.apps.clear(); // a gateway that lost its state
    gw.last.serverClose(1006, 'gone');
    await until(() => gw.frames('register').length === 2);
    await until(() => c.isConnected);
    expect(gw.frames().map((f) => f.type)).toEqual(['register', 're_register', 'register']);
  });

  it('stops for good when re_register is answered app_terminal', async () => {
    const gw = new FakeGateway();
    const c = start(gw);
    await c.events.next('registered');
    c.status({ queued: true });
    gw.autoAck = false;
    gw.intercept = (f, s) => {
      if (f.type !== 're_register') return false;
      s.push({ type: 'error', code: 'app_terminal', message: 'done already', app_id: f.app_id });
      return true;
    };
    gw.last.serverClose(1006, 'drop');
    await until(() => c.state === 'finished');
    const sockets = gw.sockets.length;
    await tick(100);
    expect(gw.sockets.length).toBe(sockets);
    expect(c.pendingCount).toBe(0);
    c.status({ ignored: true });
    expect(c.seq).toBe(1);
  });

  it('gives up on a refused identity (app_owned) without reconnecting', async () => {
    const gw = new FakeGateway();
    gw.intercept = (f, s) => {
      s.push({ type: 'error', code: 'app_owned', message: 'another key', app_id: f.app_id });
      return true;
    };
    const c = start(gw);
    const err = await c.events.next('error');
    expect(err.code).toBe('app_owned');
    await until(() => c.state === 'failed');
    expect(gw.last.state).toBe('closed');
  });

  it('backs off between failed connection attempts with the injected random, and resets after registering', async () => {
    const gw = new FakeGateway();
    gw.refuse = true;
    const opened: number[] = [];
    const t0 = Date.now();
    const transport = { open: (url: string, h: Parameters<typeof gw.transport.open>[1]) => (opened.push(Date.now() - t0), gw.transport.open(url, h)) };
    const c = start(gw, {}, { transport, random: () => 0, backoff: { baseMs: 20, maxMs: 2000 } });
    await until(() => opened.length >= 6, 5000);
    gw.refuse = false;
    await c.events.next('registered', undefined, 5000);
    const gaps = opened.slice(1, 6).map((t, i) => t - opened[i]!);
    // 20, 40, 80, 160, 320: timers may fire late but never early.
    [20, 40, 80, 160, 320].forEach((d, i) => expect(gaps[i]).toBeGreaterThanOrEqual(d - 1));
    // After a registration the next outage starts again from the base delay (20 ms, not 640).
    const before = opened.length;
    const lost = Date.now();
    gw.last.serverClose(1006, 'drop');
    await until(() => opened.length === before + 1);
    expect(Date.now() - lost).toBeLessThan(400);
  });

  it('pauses on rate_limited, keeps the messages, and re-sends them', async () => {
    const gw = new FakeGateway();
    let limited = false;
    gw.intercept = (f, s) => {
      if (f.type !== 'message' || limited) return false;
      limited = true; // the gateway drops this frame and says so once
      s.push({ type: 'error', code: 'rate_limited', message: 'over 500 frames/s; frames are being dropped' });
      return true;
    };
    const c = start(gw);
    await c.events.next('registered');
    c.status({ n: 1 });
    c.status({ n: 2 });
    const err = await c.events.next('error');
    expect(err.code).toBe('rate_limited');
    expect(await c.flush(2000)).toBe(true);
    const msgs = seqs(gw.frames('message'));
    expect(msgs.filter((s) => s === 1).length).toBeGreaterThanOrEqual(2);
    expect([...gw.apps.get(c.appId!)!.stored.keys()].sort()).toEqual([1, 2]);
  });

  /** The gateway refuses seq 1 with `code` (once, or every time); the client sends two Status and flushes. */
  async function refuseFirst(code: 'internal_error' | 'seq_conflict', once: boolean) {
    const gw = new FakeGateway();
    let refused = false;
    gw.intercept = (f, s) => {
      if (f.type !== 'message' || f.header.seq !== 1 || (once && refused)) return false;
      refused = true;
      s.push({ type: 'error', code, message: `refused: ${code}`, app_id: f.app_id, seq: 1 });
      return true;
    };
    const c = start(gw);
    const dropped: Array<number | null> = [];
    c.events.on('dropped', (d) => dropped.push(d.seq));
    c.status({ n: 1 });
    c.status({ n: 2 });
    const flushed = await c.flush(3000);
    return { flushed, dropped, stored: [...gw.apps.get(c.appId!)!.stored.keys()].sort() };
  }

  it('re-sends a message the gateway refused with internal_error (its failure on that frame), and stores it once', async () => {
    const r = await refuseFirst('internal_error', true);
    expect(r.flushed).toBe(true);
    expect(r.dropped).toEqual([]);
    expect(r.stored).toEqual([1, 2]);
  });

  it('drops a message the gateway will never accept, and carries on', async () => {
    const r = await refuseFirst('seq_conflict', false);
    expect(r.flushed).toBe(true);
    expect(r.dropped).toEqual([1]);
  });
});

describe('multiplexing (spec §18)', () => {
  it('carries two identities on one socket and routes acks by app_id', async () => {
    const gw = new FakeGateway();
    const conn = new TrailsConnection('ws://gateway.test', { transport: gw.transport, ...quiet });
    const a = start(gw, { appName: 'a' }, { connection: conn });
    const b = start(gw, { appName: 'b' }, { connection: conn });
    a.status({ from: 'a' });
    b.status({ from: 'b' });
    b.status({ from: 'b2' });
    expect(await a.flush(2000)).toBe(true);
    expect(await b.flush(2000)).toBe(true);
    expect(gw.sockets).toHaveLength(1);
    const byApp = (id: string | null) => seqs(gw.frames('message').filter((f) => f.app_id === id));
    expect(byApp(a.appId)).toEqual([1]);
    expect(byApp(b.appId)).toEqual([1, 2]);
    await a.shutdown();
    expect(gw.last.state).toBe('open');
    expect(b.isConnected).toBe(true);
    await b.shutdown();
    expect(gw.last.state).toBe('closed');
    expect(gw.frames('disconnect').map((f) => f.reason)).toEqual(['completed', 'completed']);
  });
});

describe('shutdown', () => {
  it('flushes, sends disconnect completed and closes its own socket', async () => {
    const gw = new FakeGateway();
    const c = start(gw);
    c.status({ last: true });
    await c.shutdown();
    expect(gw.frames().map((f) => f.type)).toEqual(['register', 'message', 'disconnect']);
    expect(gw.frames('disconnect')[0]).toMatchObject({ app_id: c.appId, reason: 'completed' });
    expect(gw.last.state).toBe('closed');
    expect(c.state).toBe('finished');
    await c.shutdown(); // idempotent
  });

  it('waits for the registration so that even an app with nothing to say disconnects cleanly', async () => {
    const gw = new FakeGateway();
    gw.autoRegister = false;
    const c = start(gw);
    setTimeout(() => gw.last.push(gw.registered(c.appId!, 0, 'open')), 30);
    await c.shutdown();
    expect(gw.frames().map((f) => f.type)).toEqual(['register', 'disconnect']);
  });

  it('gives up on the disconnect after flushMs when the gateway is unreachable', async () => {
    const gw = new FakeGateway();
    gw.refuse = true;
    const dropped: Array<number | null> = [];
    const c = start(gw);
    c.events.on('dropped', (d) => dropped.push(d.seq));
    c.status({ lost: true });
    const t0 = Date.now();
    await c.shutdown({ flushMs: 50 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(c.state).toBe('finished');
    expect(dropped).toEqual([1]);
    expect(gw.frames('disconnect')).toHaveLength(0);
  });

  it('does not send disconnect after a stored Result', async () => {
    const gw = new FakeGateway();
    const c = start(gw);
    c.result({ r: 1 });
    await c.shutdown();
    expect(gw.frames('disconnect')).toHaveLength(0);
  });

  it('createChild gives a child config under this app', () => {
    const gw = new FakeGateway();
    const c = start(gw, { secLevel: 'signed' });
    const child = c.createChild('worker')!;
    expect(child).toMatchObject({ parentId: c.appId, appName: 'worker', serverEp: 'ws://gateway.test:8443', serverPubKey: gw.publicKeyText, secLevel: 'signed' });
    expect(child.appId).not.toBe(c.appId);
    expect(Math.abs(child.scheduledAt! - Date.now())).toBeLessThan(5000);
  });
});
