/**
 * The client tells its user what is going on, through a logger the caller
 * chooses: a gateway it cannot reach (at retries 1, 2, 4, 8, …), a gateway
 * that is not the one serverPubKey pins (one error, then it stops), and
 * messages after the app ended (refused every time, said once).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig } from '../../gateway/config.js';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { TrailsClient } from '../../client/client.js';
import type { TrailsConfig } from '../../client/config.js';
import { logLine, type TrailsLogger } from '../../client/log.js';
import { deadPort } from '../cli/support/harness.js';
import { until } from './fake-gateway.js';

let dataDir: string;
let gw: RunningGateway;
const clients: TrailsClient[] = [];

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trails-says-'));
  gw = await startGateway({ ...defaultConfig(), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', registration: 'open' });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.abandon();
  await gw.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A logger that keeps its lines: "level message". */
function recorder(): { logger: TrailsLogger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, logger: { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') } };
}

function client(cfg: Partial<TrailsConfig>, logger: TrailsLogger): TrailsClient {
  const c = TrailsClient.initWith({ v: 1, appId: randomUUID(), parentId: null, appName: 'says', serverEp: gw.url, serverPubKey: gw.identity.publicKeyText, secLevel: 'open', ...cfg }, { logger, backoff: { baseMs: 5, maxMs: 20 } });
  clients.push(c);
  return c;
}

describe('a client that cannot reach its gateway', () => {
  it('says so, with the cause and the URL, at retries 1, 2, 4, 8 (not at every retry)', async () => {
    const port = await deadPort();
    const { logger, lines } = recorder();
    const c = client({ serverEp: `http://127.0.0.1:${port}` }, logger);
    await until(() => (c.connection?.connects ?? 0) >= 10, 10_000);
    const warned = lines.filter((l) => l.startsWith('warn '));
    expect(warned.map((l) => /\(attempt (\d+)\)$/.exec(l)?.[1])).toEqual(['1', '2', '4', '8']);
    expect(warned[0]).toMatch(new RegExp(`^warn cannot reach the gateway \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\) at ws://127\\.0\\.0\\.1:${port}/ws; retrying in \\d+\\.\\d s \\(attempt 1\\)$`));
  });
});

describe('a wrong serverPubKey', () => {
  it('is one clear error; the client stops instead of retrying into already_registered', async () => {
    const { logger, lines } = recorder();
    const pinned = encodePublicKey(generateKeyPair().publicKey);
    const c = client({ secLevel: 'signed', serverPubKey: pinned }, logger);
    const codes: string[] = [];
    c.events.on('error', (e) => void codes.push(e.code));
    await until(() => c.state === 'failed', 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => l.startsWith('error '))).toEqual([
      `error the gateway identifies as ${gw.identity.publicKeyText}, but serverPubKey in the config pins ${pinned}: a wrong serverPubKey (TRAILS_INFO), or not the gateway meant; giving up on app ${c.appId}`,
    ]);
    expect(codes).toEqual([]);
    expect(c.connection!.connects).toBe(1);
    expect(c.status({ late: true })).toBe(false);
  });
});

describe('status() after the app ended', () => {
  it('returns false every time, and the log says why once', async () => {
    const { logger, lines } = recorder();
    const c = client({}, logger);
    const dropped: string[] = [];
    c.events.on('dropped', (e) => void dropped.push(e.reason));
    expect(c.status({ step: 1 })).toBe(true);
    expect(c.result({ ok: true })).toBe(true);
    await until(() => c.state === 'finished', 5_000);
    for (let i = 0; i < 5; i++) expect(c.status({ step: 2 + i })).toBe(false);
    expect(c.error('late')).toBe(false);
    expect(lines).toEqual([`warn app ${c.appId} has ended (Result stored); status/result/error are refused from now on`]);
    expect(dropped).toHaveLength(6);
    expect(gw.store.messages(c.appId!, { msg_type: 'Status' })).toHaveLength(1);
  });

  it('the default logger writes one line per event, extra fields as JSON', () => {
    expect(logLine('socket send failed', { err: 'EPIPE', n: { a: 1 } })).toBe('trails: socket send failed {"err":"EPIPE","n":{"a":1}}');
    expect(logLine('plain')).toBe('trails: plain');
    expect(TrailsClient.noop().status({})).toBe(true);
  });
});
