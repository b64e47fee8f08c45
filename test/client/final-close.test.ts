/**
 * Final close codes (4400–4499, docs/PROTOCOL.md) in the TypeScript client:
 * a final close that names this app (or none) ends it with one clear error
 * and no more reconnects; one naming another app on a shared socket, and the
 * retryable codes, leave it reconnecting as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TrailsClient } from '../../client/client.js';
import type { TrailsLogger } from '../../client/log.js';
import { FakeGateway, quiet, tick, until, type Frame } from './fake-gateway.js';

const clients: TrailsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.shutdown({ flushMs: 0 })));
});

function recording(): TrailsLogger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (msg: string) => void lines.push(`${level}: ${msg}`);
  return { lines, debug: () => {}, info: rec('info'), warn: rec('warn'), error: rec('error') };
}

function start(gw: FakeGateway, onRegister: (f: Frame, closeWith: (code: number, reason: string) => void) => void) {
  const log = recording();
  const cfg = gw.config();
  gw.intercept = (f, s) => {
    if (f.type !== 'register' && f.type !== 're_register') return false;
    onRegister(f, (code, reason) => s.serverClose(code, reason));
    return true;
  };
  const c = TrailsClient.initWith(cfg, { transport: gw.transport, ...quiet, logger: log });
  clients.push(c);
  return { c, log, appId: cfg.appId };
}

describe('final close codes in the client', () => {
  it('4426 naming this app: failed at once, one error line, no reconnect', async () => {
    const gw = new FakeGateway();
    const { c, log, appId } = start(gw, (f, close) => close(4426, `tier_mismatch ${f.app_id}`));
    await until(() => c.state === 'failed', 2000, 'failed');
    await tick(200); // backoff is 5–50 ms here: a retrying client would have opened several sockets by now
    expect(gw.sockets).toHaveLength(1);
    expect(log.lines.filter((l) => l.startsWith('error'))).toEqual([`error: the gateway refused this app for good (close 4426 tier_mismatch ${appId}); not reconnecting`]);
  });

  it('4410 (app_terminal): the app is over, finished; no reconnect', async () => {
    const gw = new FakeGateway();
    const { c } = start(gw, (f, close) => close(4410, `app_terminal ${f.app_id}`));
    await until(() => c.state === 'finished', 2000, 'finished');
    await tick(150);
    expect(gw.sockets).toHaveLength(1);
  });

  it('a final close naming another app, or a retryable code, keeps it reconnecting', async () => {
    for (const [code, reason] of [[4403, `app_owned ${crypto.randomUUID()}`], [4002, 'too many protocol errors'], [4001, 'no registration in time']] as const) {
      const gw = new FakeGateway();
      let closes = 0;
      const { c } = start(gw, (f, close) => (closes++ < 2 ? close(code, reason) : gw.last.push(gw.registered(f.app_id, 0, 'open'))));
      await until(() => c.isConnected, 3000, `registered after ${code}`);
      expect([code, gw.sockets.length]).toEqual([code, 3]);
    }
  });
});
