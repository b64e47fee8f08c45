/**
 * A device that moves between gateways carries its unacked messages: the
 * client it leaves hands them over, the next client of the same app sends
 * them first, with their seqs and frames unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig } from '../../gateway/config.js';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { TrailsClient } from '../../client/client.js';
import { silentLogger } from '../../client/log.js';
import { until } from './fake-gateway.js';

let gw: RunningGateway | undefined;
let dir: string | undefined;
afterEach(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hand-over of unacked messages', () => {
  it('messages queued for an unreachable gateway arrive, once each and in order, at the next one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'trails-handover-'));
    gw = await startGateway({ ...defaultConfig(), dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', registration: 'open' });
    const keyPair = generateKeyPair();
    const appId = randomUUID();
    const base = { v: 1, appId, parentId: null, appName: 'mover', serverPubKey: gw.identity.publicKeyText, secLevel: 'signed' as const };
    const stranded = TrailsClient.initWith({ ...base, serverEp: 'http://127.0.0.1:9' }, { keyPair, logger: silentLogger, backoff: { baseMs: 10, maxMs: 50 } });
    stranded.status({ n: 1 });
    stranded.status({ n: 2 });
    stranded.result({ done: true });
    const carried = stranded.handOver('moving');
    expect(carried.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(stranded.pendingCount).toBe(0);
    const next = TrailsClient.initWith({ ...base, serverEp: gw.url }, { keyPair, logger: silentLogger });
    next.adopt(carried);
    await until(() => gw!.store.getApp(appId)?.status === 'done', 5000);
    expect(gw.store.messages(appId).map((m) => [m.seq, m.msg_type, m.payload_json])).toEqual([
      [1, 'Status', { n: 1 }],
      [2, 'Status', { n: 2 }],
      [3, 'Result', { done: true }],
    ]);
    await next.shutdown({ flushMs: 0 });
  });
});
