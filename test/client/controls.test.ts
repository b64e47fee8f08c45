import { afterEach, describe, expect, it } from 'vitest';
import { TrailsClient, type ClientOptions } from '../../client/client.js';
import type { TrailsConfig } from '../../client/config.js';
import { generateKeyPair, publicKeyObject } from '../../gateway/crypto/ed25519.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { parseClientFrame } from '../../protocol/parse.js';
import { verifyFrame } from '../../gateway/crypto/frame-signing.js';
import type { TrailsLogger } from '../../client/log.js';
import { FakeGateway, quiet, tick, until, type Frame } from './fake-gateway.js';

const clients: TrailsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.shutdown({ flushMs: 0 })));
});

async function ready(gw: FakeGateway, cfg: Partial<TrailsConfig> = {}, opts: ClientOptions = {}): Promise<TrailsClient> {
  const c = TrailsClient.initWith(gw.config(cfg), { transport: gw.transport, ...quiet, ...opts });
  clients.push(c);
  await c.events.next('registered');
  return c;
}

async function answer(gw: FakeGateway, control: Frame): Promise<Frame> {
  gw.last.push(control);
  await until(() => gw.frames('control_response').some((f) => f.correlation_id === control.correlation_id), 3000, 'control_response');
  return gw.frames('control_response').find((f) => f.correlation_id === control.correlation_id)!;
}

describe('controls', () => {
  it('answers with the handler result (sync or async)', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw);
    c.on('reconfig', (p) => ({ applied: p }));
    c.on('slow', async (p, ctx) => {
      await tick(10);
      return { action: ctx.action, n: (p as { n: number }).n + 1 };
    });
    const r1 = await answer(gw, gw.control(c.appId!, 'reconfig', { batch: 64 }));
    expect(r1).toMatchObject({ type: 'control_response', app_id: c.appId, ack: true, result: { applied: { batch: 64 } } });
    const r2 = await answer(gw, gw.control(c.appId!, 'slow', { n: 1 }));
    expect(r2).toMatchObject({ ack: true, result: { action: 'slow', n: 2 } });
    // Every control_response is a frame the gateway parses.
    expect(parseClientFrame(JSON.stringify(r2)).ok).toBe(true);
  });

  it('answers unknown_action for an action with no handler, and keeps going', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw);
    const seen = c.events.next('control');
    const r = await answer(gw, gw.control(c.appId!, 'self_destruct'));
    expect(r).toMatchObject({ ack: false, error: 'unknown_action', action: 'self_destruct' });
    expect((await seen).outcome).toBe('unknown_action');
    expect(c.isConnected).toBe(true);
  });

  it('answers ack:false with the message when a handler throws or returns non-JSON', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw);
    c.on('explode', () => {
      throw new Error('no such batch');
    });
    c.on('reject', async () => Promise.reject(new Error('async no')));
    c.on('weird', () => {
      const o: Record<string, unknown> = {};
      o.o = o;
      return o;
    });
    expect(await answer(gw, gw.control(c.appId!, 'explode'))).toMatchObject({ ack: false, error: 'no such batch' });
    expect(await answer(gw, gw.control(c.appId!, 'reject'))).toMatchObject({ ack: false, error: 'async no' });
    expect((await answer(gw, gw.control(c.appId!, 'weird'))).error).toMatch(/circular/i);
  });

  it('ignores a control with a bad gateway signature: no answer, no handler, logged', async () => {
    const gw = new FakeGateway();
    const lines: string[] = [];
    const logger: TrailsLogger = { ...quiet.logger, warn: (m) => void lines.push(m) };
    const c = await ready(gw, { secLevel: 'signed' }, { logger });
    let ran = 0;
    c.on('reboot', () => ++ran);
    const forged = gw.control(c.appId!, 'reboot', null, generateKeyPair());
    const tampered = { ...gw.control(c.appId!, 'reboot', { safe: true }), payload: { safe: false } };
    const unsigned = { ...gw.control(c.appId!, 'reboot'), sig: null };
    const events: string[] = [];
    c.events.on('control', (e) => events.push(e.outcome));
    for (const f of [forged, tampered, unsigned]) gw.last.push(f);
    await tick(30);
    expect(ran).toBe(0);
    expect(gw.frames('control_response')).toHaveLength(0);
    expect(events).toEqual(['ignored', 'ignored', 'ignored']);
    expect(lines.filter((l) => l.startsWith('control ignored'))).toHaveLength(3);
    // The genuine one still works, and only once (a replay is ignored).
    const genuine = gw.control(c.appId!, 'reboot');
    expect(await answer(gw, genuine)).toMatchObject({ ack: true, result: 1 });
    gw.last.push(genuine);
    await tick(20);
    expect(ran).toBe(1);
  });

  it('on cancel: runs the hook within its grace, answers cancelled, then disconnects "cancelled"', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw);
    const order: string[] = [];
    c.onCancel(1000, async (ctx) => {
      order.push(`hook:${JSON.stringify(ctx.payload)}`);
      c.status({ checkpoint: 7 });
      await tick(20);
      order.push('hook done');
    });
    gw.intercept = (f) => {
      order.push(f.type === 'message' ? `message:${f.header.seq}` : f.type);
      return false;
    };
    const r = await answer(gw, gw.control(c.appId!, 'cancel', { reason: 'user' }));
    expect(r).toMatchObject({ ack: true, result: { cancelled: true } });
    await until(() => c.state === 'finished');
    expect(order).toEqual(['hook:{"reason":"user"}', 'message:1', 'hook done', 'control_response', 'disconnect']);
    expect(gw.frames('disconnect')[0]).toMatchObject({ reason: 'cancelled', app_id: c.appId });
  });

  it('does not wait for a cancel hook beyond its grace', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw);
    c.onCancel(30, () => new Promise(() => {}));
    const t0 = Date.now();
    await answer(gw, gw.control(c.appId!, 'cancel'));
    expect(Date.now() - t0).toBeLessThan(1000);
    await until(() => gw.frames('disconnect').length === 1);
  });
});

describe('signed tier', () => {
  it('signs every client frame so that verifyFrame accepts it, with increasing timestamps', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw, { secLevel: 'signed' });
    c.on('ping', () => 'pong');
    c.status({ a: 1 });
    c.status({ a: 2 });
    await c.flush(1000);
    await answer(gw, gw.control(c.appId!, 'ping'));
    gw.last.serverClose(1006, 'drop'); // forces a re_register
    await c.events.next('registered');
    await c.shutdown();

    const key = publicKeyObject(decodePublicKey(c.publicKey)!);
    const frames = gw.frames();
    expect(frames.map((f) => f.type)).toEqual(['register', 'message', 'message', 'control_response', 're_register', 'disconnect']);
    for (const f of frames) {
      expect(typeof f.sig).toBe('string');
      expect(verifyFrame(f, key)).toBe(true);
      expect(verifyFrame({ ...f, app_id: '00000000-0000-4000-8000-000000000000' }, key)).toBe(false);
      expect(parseClientFrame(JSON.stringify(f)).ok).toBe(true);
    }
    const stamps = frames.filter((f) => f.type !== 'message').map((f) => f.timestamp as number);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    expect(frames[0]).toMatchObject({ sec_level: 'signed', child_pub_key: c.publicKey });
  });

  it('uses the key pair it is given', async () => {
    const gw = new FakeGateway();
    const keyPair = generateKeyPair();
    const c = await ready(gw, { secLevel: 'signed' }, { keyPair });
    expect(decodePublicKey(c.publicKey)).toEqual(keyPair.publicKey);
  });

  it('timestamps stay strictly increasing even when the clock stands still', async () => {
    const gw = new FakeGateway();
    const c = await ready(gw, { secLevel: 'signed' }, { now: () => 1_000 });
    gw.last.serverClose(1006, 'x');
    await c.events.next('registered');
    gw.last.serverClose(1006, 'y');
    await c.events.next('registered');
    expect(gw.frames().map((f) => f.timestamp)).toEqual([1000, 1001, 1002]);
  });
});
