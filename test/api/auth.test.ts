/**
 * Authentication of API requests: signed headers, the timestamp window, the
 * durable nonce, the admin key file, and an audit row for every refusal.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { startGateway } from '../../gateway/app.js';
import { generateKeyPair, keyPairFromSeed, privateKeyObject, sign } from '../../gateway/crypto/ed25519.js';
import { bodySha256, requestSigningInput, signRequest } from '../../gateway/auth/request-signing.js';
import { encodePublicKey, encodeSignature } from '../../protocol/keys.js';
import { admin, call, cleanDirs, flushRefusals, startTestGateway, testConfig, until } from './support/api-harness.js';
import { SimLink, simApp } from './support/sim-device.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});
afterAll(cleanDirs);

const inject = (g: RunningGateway, url: string, headers: Record<string, string>, method = 'GET', payload?: string) =>
  g.http.inject({ method: method as 'GET', url, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload } : {}) });

describe('request signing helper', () => {
  it('signs exactly TRAILS-REQ-V1 + JCS of the seven facts, and the signature verifies', () => {
    const key = keyPairFromSeed(new Uint8Array(32).fill(7));
    const h = signRequest({ method: 'post', path: '/api/v1/children?x=1', body: '{"a":1}', key, appId: 'AAAAAAAA-0000-4000-8000-000000000001', now: 1_790_000_000_000, nonce: 'nonce-0123456789ab' });
    const facts = {
      method: 'POST', path: '/api/v1/children?x=1', timestamp: 1_790_000_000_000, nonce: 'nonce-0123456789ab',
      body_sha256: bodySha256('{"a":1}'), key: encodePublicKey(key.publicKey), app_id: 'AAAAAAAA-0000-4000-8000-000000000001',
    };
    const text = Buffer.from(requestSigningInput(facts)).toString('utf8');
    expect(text).toBe(
      'TRAILS-REQ-V1\n{"app_id":"AAAAAAAA-0000-4000-8000-000000000001","body_sha256":"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862",' +
        `"key":"${facts.key}","method":"POST","nonce":"nonce-0123456789ab","path":"/api/v1/children?x=1","timestamp":1790000000000}`,
    );
    expect(h['x-trails-signature']).toBe(encodeSignature(sign(requestSigningInput(facts), privateKeyObject(key.secretKey))));
    expect(h).toMatchObject({ 'x-trails-key': facts.key, 'x-trails-timestamp': '1790000000000', 'x-trails-nonce': 'nonce-0123456789ab', 'x-trails-app': facts.app_id });
    expect(bodySha256(undefined)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect('x-trails-app' in signRequest({ method: 'GET', path: '/', key })).toBe(false);
  });
});

describe('admin key', () => {
  it('is created at first start as admin.key (0600) with admin.pub beside it, and kept across restarts', async () => {
    const config = testConfig();
    gw = await startGateway(config);
    const first = gw.admin.publicKeyText;
    expect(statSync(join(config.dataDir, 'admin.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(config.dataDir, 'admin.pub'), 'utf8').trim()).toBe(first);
    await gw.stop();
    gw = await startGateway(config);
    expect(gw.admin.publicKeyText).toBe(first);
    expect((await call(gw, admin(gw), 'GET', '/api/v1/apps')).status).toBe(200);
  });
});

describe('refusals', () => {
  it('open endpoints need no signature: /healthz and the OpenAPI document', async () => {
    gw = await startTestGateway();
    expect((await gw.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const doc = await gw.http.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toBe('3.1.0');
    expect(gw.store.auditLog()).toEqual([]);
  });

  it('an unsigned request is 401 with a JSON error, and counted into an audit row when the interval ends', async () => {
    gw = await startTestGateway();
    const res = await call(gw, null, 'GET', '/api/v1/apps', undefined, { 'user-agent': 'curl/8.5' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
    expect(res.body.error.message).toMatch(/X-Trails-Signature/);
    expect(gw.store.auditLog()).toEqual([]);
    await flushRefusals(gw);
    const [row] = gw.store.auditLog();
    expect(row).toMatchObject({ action: 'list_apps', outcome: 'refused:401:unauthenticated', auth_domain: 'none', source_ip: '127.0.0.1', user_agent: 'curl/8.5', target_app_id: null, count: 1 });
    expect(row!.payload_json).toMatchObject({ method: 'GET', path: '/api/v1/apps' });
  });

  it('a wrong signature, a tampered body, path or query, and a foreign key are 401', async () => {
    gw = await startTestGateway();
    const g = gw;
    const key = gw.admin.pair;
    const other = generateKeyPair();
    // Signed by another key but naming the admin key.
    const forged = signRequest({ method: 'GET', path: '/api/v1/apps', key: other });
    forged['x-trails-key'] = encodePublicKey(key.publicKey);
    expect((await inject(g, '/api/v1/apps', forged)).json().error.code).toBe('bad_signature');
    // Signed for one query string, sent with another.
    const h = signRequest({ method: 'GET', path: '/api/v1/apps', key });
    const res = await inject(g, '/api/v1/apps?limit=1', h);
    expect([res.statusCode, res.json().error.code]).toEqual([401, 'bad_signature']);
    // Signed for one body, sent with another.
    const root = crypto.randomUUID();
    const body = JSON.stringify({ parentId: root, appId: crypto.randomUUID(), appName: 'x', startDeadline: 5 });
    const hb = signRequest({ method: 'POST', path: '/api/v1/children', body, key });
    const tampered = (await inject(g, '/api/v1/children', hb, 'POST', body.replace('"x"', '"y"'))).json();
    expect(tampered.error.code).toBe('bad_signature');
    // Signed for GET, sent as DELETE.
    const hm = signRequest({ method: 'GET', path: `/api/v1/children/${root}`, key });
    expect((await inject(g, `/api/v1/children/${root}`, hm, 'DELETE')).statusCode).toBe(401);
    // A valid signature by a key that is neither the admin's nor an app's.
    const stranger = await call(g, { key: other }, 'GET', '/api/v1/apps');
    expect([stranger.status, stranger.body.error.code]).toEqual([401, 'unknown_key']);
    await flushRefusals(g);
    // One counted row per address, action and reason.
    const counted = g.store.auditLog().map((a) => [a.action, a.outcome, a.count]).sort();
    expect(counted).toEqual([
      ['declare_child', 'refused:401:bad_signature', 1], ['list_apps', 'refused:401:bad_signature', 2], ['list_apps', 'refused:401:unknown_key', 1], ['withdraw_child', 'refused:401:bad_signature', 1],
    ]);
    expect(g.store.getApp(root)).toBeUndefined();
  });

  it('malformed auth headers name what is wrong', async () => {
    gw = await startTestGateway();
    const g = gw;
    const good = () => signRequest({ method: 'GET', path: '/api/v1/apps', key: g.admin.pair });
    const codeOf = async (over: Record<string, string>) => (await inject(g, '/api/v1/apps', { ...good(), ...over })).json().error.code;
    expect(await codeOf({ 'x-trails-key': 'rsa:abc' })).toBe('bad_key');
    expect(await codeOf({ 'x-trails-nonce': 'short' })).toBe('bad_nonce');
    expect(await codeOf({ 'x-trails-timestamp': 'yesterday' })).toBe('bad_timestamp');
    expect(await codeOf({ 'x-trails-signature': 'ed25519:AAAA' })).toBe('bad_signature');
    expect(await codeOf({ 'x-trails-app': 'not-a-uuid' })).toBe('bad_request_auth');
  });

  it('a timestamp outside ±300 s is refused', async () => {
    gw = await startTestGateway();
    const key = gw.admin.pair;
    for (const skew of [-301_000, 301_000]) {
      const h = signRequest({ method: 'GET', path: '/api/v1/apps', key, now: Date.now() + skew });
      const res = await inject(gw, '/api/v1/apps', h);
      expect([res.statusCode, res.json().error.code]).toEqual([401, 'stale_timestamp']);
    }
    const ok = signRequest({ method: 'GET', path: '/api/v1/apps', key, now: Date.now() - 290_000 });
    expect((await inject(gw, '/api/v1/apps', ok)).statusCode).toBe(200);
  });

  it('a replayed request (same nonce) is refused, also after a restart on the same data directory', async () => {
    const config = testConfig();
    gw = await startGateway(config);
    const h = signRequest({ method: 'GET', path: '/api/v1/apps', key: gw.admin.pair });
    expect((await inject(gw, '/api/v1/apps', h)).statusCode).toBe(200);
    const again = await inject(gw, '/api/v1/apps', h);
    expect([again.statusCode, again.json().error.code]).toEqual([401, 'replayed_nonce']);
    await gw.stop();
    gw = await startGateway(config);
    const afterRestart = await inject(gw, '/api/v1/apps', h);
    expect([afterRestart.statusCode, afterRestart.json().error.code]).toEqual([401, 'replayed_nonce']);
    await flushRefusals(gw);
    expect(gw.store.auditLog({ limit: 1 })[0]?.outcome).toBe('refused:401:replayed_nonce');
  });

  it('an app signs with its registered key; another key, an unknown app or a finished app is refused', async () => {
    gw = await startTestGateway();
    const link = await SimLink.open(gw.wsUrl);
    try {
      const app = simApp(null, 'parent');
      await link.register(app);
      const me = { key: app.key, appId: app.appId };
      const self = await call(gw, me, 'GET', `/api/v1/apps/${app.appId}`);
      expect([self.status, self.body.app_id, self.body.status]).toEqual([200, app.appId, 'connected']);
      const wrongKey = await call(gw, { key: generateKeyPair(), appId: app.appId }, 'GET', '/api/v1/apps');
      expect([wrongKey.status, wrongKey.body.error.code]).toEqual([401, 'key_mismatch']);
      const ghost = await call(gw, { key: app.key, appId: crypto.randomUUID() }, 'GET', '/api/v1/apps');
      expect([ghost.status, ghost.body.error.code]).toEqual([401, 'unknown_app']);
      // Admin key with an app header is an app request, and fails as one.
      const mixed = await call(gw, { key: gw.admin.pair, appId: app.appId }, 'GET', '/api/v1/apps');
      expect(mixed.body.error.code).toBe('key_mismatch');
      link.status(app, { done: true }, 'Result');
      const g = gw;
      await until(() => g.store.getApp(app.appId)?.status === 'done', 2000, 'Result stored');
      const finished = await call(gw, me, 'GET', `/api/v1/apps/${app.appId}`);
      expect([finished.status, finished.body.error.code]).toEqual([403, 'app_terminal']);
      const refusal = gw.store.auditLog({ limit: 1 })[0]!;
      expect(refusal).toMatchObject({ outcome: 'refused:403:app_terminal', action: 'get_app' });
    } finally {
      link.close();
    }
  });
});
