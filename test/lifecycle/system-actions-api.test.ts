/**
 * The REST side of the system controls: every bad input is a clear 4xx and
 * sends nothing to the device; authority follows the tree (an ancestor or
 * the admin); the gateway key rotation is the admin's and is kept on disk.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { loadServerIdentity } from '../../gateway/keys/server-key-ring.js';
import { cleanDirs } from '../api/support/api-harness.js';
import type { SimApp, SimLink } from '../api/support/sim-device.js';
import { api, bootDevice, gateway, next, parentApp, type SimDevice } from './support/life-harness.js';

let gw: RunningGateway;
let parent: SimApp;
let appId: string;
let device: SimDevice;
const links: SimLink[] = [];

const key = (): string => encodePublicKey(generateKeyPair().publicKey);
const controlsSent = (): string[] => gw.store.messages(appId, { msg_type: 'Control' }).map((m) => (m.payload_json as { action: string }).action);

beforeEach(async () => {
  gw = await gateway();
  const p = await parentApp(gw);
  parent = p.app;
  links.push(p.link);
  await api(gw, parent, 'POST', '/api/v1/claim-intents', {});
  device = bootDevice(gw, parent.pubKey);
  const pending = next(device.device, 'pending');
  device.device.start();
  await pending;
  appId = crypto.randomUUID();
  const operating = next(device.device, 'operating');
  await api(gw, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: device.mac, appId, appName: 'lock' });
  await operating;
});

afterEach(async () => {
  device.device.stop();
  links.splice(0).forEach((l) => l.close());
  await gw.stop();
});
afterAll(cleanDirs);

describe('rotate-keys', () => {
  it('an effectiveAfter in the past (or now) is 400 and nothing is sent', async () => {
    for (const effectiveAfter of [new Date(Date.now() - 60_000).toISOString(), new Date(Date.now() - 1).toISOString()]) {
      const res = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newParentPubKey: key(), effectiveAfter });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^body\/effectiveAfter .* is not in the future/);
    }
    expect(controlsSent()).toEqual([]);
    expect(device.store.get('parent_keys')).toEqual({ current: parent.pubKey, next: null });
  });

  it('a gateway key the gateway has not scheduled, or at another moment, is 400; naming no key is 400', async () => {
    const effectiveAfter = new Date(Date.now() + 60_000).toISOString();
    const unscheduled = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newServerPubKey: key(), effectiveAfter });
    expect(unscheduled.status).toBe(400);
    expect(unscheduled.body.error.message).toContain('schedule it first');
    const sched = await api(gw, null, 'POST', '/api/v1/server-key/rotate', { effectiveAfter });
    const other = new Date(Date.parse(effectiveAfter) + 1000).toISOString();
    const moment = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newServerPubKey: sched.body.next_pub_key, effectiveAfter: other });
    expect(moment.status).toBe(400);
    expect(moment.body.error.message).toBe(`body/effectiveAfter must be ${effectiveAfter}, when this gateway switches to that key`);
    expect((await api(gw, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { effectiveAfter })).status).toBe(400);
    expect(controlsSent()).toEqual([]);
    const ok = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newServerPubKey: sched.body.next_pub_key, effectiveAfter });
    expect(ok.status).toBe(200);
    expect(controlsSent()).toEqual(['rotate_keys']);
  });
});

describe('the gateway key ring', () => {
  it('only the admin schedules the next key; one at a time; it is on disk and survives a restart', async () => {
    const effectiveAfter = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api(gw, parent, 'POST', '/api/v1/server-key/rotate', { effectiveAfter })).status).toBe(403);
    const res = await api(gw, null, 'POST', '/api/v1/server-key/rotate', { effectiveAfter });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ server_pub_key: gw.identity.publicKeyText, next_pub_key: expect.stringMatching(/^ed25519:/), effective_after: effectiveAfter });
    expect((await api(gw, null, 'POST', '/api/v1/server-key/rotate', { effectiveAfter })).status).toBe(409);
    expect((await api(gw, parent, 'GET', '/api/v1/server-key')).body).toEqual(res.body);
    // What a restart would load: the same current key with the same next key scheduled.
    const reloaded = loadServerIdentity(gw.config.dataDir).identity;
    expect(reloaded.publicKeyText).toBe(res.body.server_pub_key);
    expect(reloaded.nextKey).toEqual({ publicKeyText: res.body.next_pub_key, effectiveAfter: Date.parse(effectiveAfter) });
    // ...and once its time has come, the next key is promoted (the old one kept as server.prev.key).
    const later = loadServerIdentity(gw.config.dataDir, () => Date.parse(effectiveAfter) + 1);
    expect(later.promoted).toBe(true);
    expect(later.identity.publicKeyText).toBe(res.body.next_pub_key);
    expect(later.identity.nextKey).toBeUndefined();
  });
});

describe('migrate and provision', () => {
  it('bad endpoints and keys are 400; someone outside the tree is 403; the generic control endpoint refuses system actions', async () => {
    const { app: stranger, link } = await parentApp(gw, null, 'stranger');
    links.push(link);
    const good = { newServerEp: 'ws://127.0.0.1:1/ws', newServerPubKey: key() };
    expect((await api(gw, parent, 'POST', `/api/v1/apps/${appId}/migrate`, { ...good, newServerEp: 'ftp://x' })).status).toBe(400);
    expect((await api(gw, parent, 'POST', `/api/v1/apps/${appId}/migrate`, { ...good, newServerPubKey: 'ed25519:' + 'A'.repeat(44) })).status).toBe(400);
    expect((await api(gw, stranger, 'POST', `/api/v1/apps/${appId}/migrate`, good)).status).toBe(403);
    expect((await api(gw, stranger, 'POST', `/api/v1/apps/${appId}/provision`, { parentId: stranger.appId })).status).toBe(403);
    const generic = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/control`, { action: 'provision', payload: {} });
    expect(generic.status).toBe(400);
    expect(generic.body.error.message).toContain('/provision');
    expect(controlsSent()).toEqual([]);
    const refusals = gw.store.auditLog({ target_app_id: appId }).filter((a) => a.outcome === 'refused:403').map((a) => a.action).sort();
    expect(refusals).toEqual(['migrate', 'provision']);
  });

  it('provision to a new parent needs rights over that parent too: moving into a stranger\'s tree is 403, nothing sent', async () => {
    const { app: stranger, link } = await parentApp(gw, null, 'stranger');
    links.push(link);
    const res = await api(gw, parent, 'POST', `/api/v1/apps/${appId}/provision`, { parentId: stranger.appId });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('not in the subtree of the caller');
    expect(controlsSent()).toEqual([]);
    expect(gw.store.getApp(appId)?.parent_id).toBe(parent.appId);
    expect(gw.store.auditLog({ target_app_id: appId }).filter((a) => a.outcome === 'refused:403').map((a) => a.action)).toEqual(['provision']);
  });

  it('provision: nothing to change, a cycle, an unknown parent, a new gateway without its key: 400/404, nothing sent', async () => {
    const url = `/api/v1/apps/${appId}/provision`;
    expect((await api(gw, parent, 'POST', url, {})).status).toBe(400);
    expect((await api(gw, parent, 'POST', url, { parentId: appId })).status).toBe(400);
    expect((await api(gw, parent, 'POST', url, { parentId: crypto.randomUUID() })).status).toBe(404);
    expect((await api(gw, parent, 'POST', url, { serverEp: 'ws://elsewhere:8443' })).status).toBe(400);
    expect(controlsSent()).toEqual([]);
    expect(gw.store.getApp(appId)?.parent_id).toBe(parent.appId);
  });

  it('the admin may send one; a device that never answers leaves the request pending (504) with the control queued', async () => {
    const res = await api(gw, null, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newParentPubKey: key(), effectiveAfter: new Date(Date.now() + 600_000).toISOString(), timeoutMs: 2000 });
    expect(res.status).toBe(200);
    expect(res.body.response.ack).toBe(true);
    device.device.stop();
    const pending = await api(gw, null, 'POST', `/api/v1/apps/${appId}/migrate`, { newServerEp: 'ws://127.0.0.1:1/ws', newServerPubKey: key(), timeoutMs: 200 });
    expect(pending.status).toBe(504);
    expect(gw.store.getControl(pending.body.correlation_id)?.status).toMatch(/queued|sent/);
  });
});
