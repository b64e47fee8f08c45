/**
 * Through a real gateway: a refusal that retrying will not change closes the
 * socket with a final code (4400–4499); a force-killed app is told, its data
 * is no longer stored and its socket closes; and the log says what happened,
 * one line each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig, type GatewayConfig } from '../../gateway/config.js';
import { RawDevice } from '../support/gateway.js';

let running: { g: RunningGateway; dir: string } | undefined;
afterEach(async () => {
  await running?.g.stop().catch(() => {});
  if (running) rmSync(running.dir, { recursive: true, force: true });
  running = undefined;
});

async function gateway(over: Partial<GatewayConfig> = {}): Promise<{ g: RunningGateway; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'trails-end-'));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
  const g = await startGateway({ ...defaultConfig(), dataDir: dir, host: '127.0.0.1', port: 0, registration: 'open', ...over }, { logger });
  running = { g, dir };
  return { g, lines };
}

const register = (appId: string, name: string) => ({ type: 'register', app_id: appId, parent_id: null, app_name: name, child_pub_key: 'ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
const status = (appId: string, seq: number) => ({ type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: Date.now(), seq }, payload: { seq } });

describe('the end of a session', () => {
  it('tier_mismatch on a socket carrying no app: the error frame, then close 4426 naming the app', async () => {
    const { g } = await gateway({ minSecLevel: 'signed' });
    const appId = crypto.randomUUID();
    const d = await RawDevice.open(g.wsUrl);
    d.send(register(appId, 'plain'));
    await d.until((x) => x.closed !== undefined);
    expect(d.frames).toEqual([expect.objectContaining({ type: 'error', code: 'tier_mismatch', app_id: appId })]);
    expect(d.closed).toEqual({ code: 4426, reason: `tier_mismatch ${appId}` });
    expect(g.store.getApp(appId)).toBeUndefined();
  });

  it('a force-killed app is told app_terminal and its socket closes 4410; coming back is refused for good; the log says so', async () => {
    const { g, lines } = await gateway();
    const appId = crypto.randomUUID();
    const d = await RawDevice.open(g.wsUrl);
    d.send(register(appId, 'stuck-job'));
    d.send(status(appId, 1));
    await d.until((x) => x.frames.some((f) => f.type === 'ack'));
    expect(await g.hub.controls.markCancelled(appId, { force_killed: true })).toBe(true);
    await d.until((x) => x.closed !== undefined);
    expect(d.frames.at(-1)).toMatchObject({ type: 'error', code: 'app_terminal', app_id: appId });
    expect(d.closed).toEqual({ code: 4410, reason: `app_terminal ${appId}` });
    expect(g.store.getApp(appId)).toMatchObject({ status: 'cancelled', metadata_json: { force_killed: true } });
    expect(g.store.crashes({ app_id: appId })).toEqual([]);
    // Coming back is refused for good too.
    const again = await RawDevice.open(g.wsUrl);
    again.send({ type: 're_register', app_id: appId, last_seq: 1, pub_key: 'ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    await again.until((x) => x.closed !== undefined);
    expect(again.closed?.code).toBe(4410);
    expect(g.store.messages(appId, { msg_type: 'Status' }).map((m) => m.seq)).toEqual([1]);
    const short = appId.slice(0, 8);
    expect(lines).toEqual(expect.arrayContaining(['device connected from 127.0.0.1', `stuck-job (${short}) registered, tier open`, `stuck-job (${short}) force-killed (cancelled without its answer)`]));
  });
});
