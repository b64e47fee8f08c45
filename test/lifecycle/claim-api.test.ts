/**
 * Claim intents and claims over the REST API against a real gateway, with
 * simulated devices on real sockets: who may register intent and claim, the
 * provision that follows, idempotency and conflicts, and a device that runs
 * from first contact to a registered, reporting app.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { cleanDirs, until } from '../api/support/api-harness.js';
import type { SimApp, SimLink } from '../api/support/sim-device.js';
import { api, bootDevice, gateway, next, parentApp, type SimDevice } from './support/life-harness.js';

let gw: RunningGateway;
let parent: SimApp;
let links: SimLink[] = [];
let devices: SimDevice[] = [];

beforeEach(async () => {
  gw = await gateway();
  const p = await parentApp(gw);
  parent = p.app;
  links.push(p.link);
});

afterEach(async () => {
  devices.splice(0).forEach((d) => d.device.stop());
  links.splice(0).forEach((l) => l.close());
  await gw.stop();
});
afterAll(cleanDirs);

async function awaiting(): Promise<SimDevice> {
  const d = bootDevice(gw, parent.pubKey);
  devices.push(d);
  const pending = next(d.device, 'pending');
  d.device.start();
  await pending;
  return d;
}

describe('claim intents', () => {
  it('are registered by the parent key, as the app that holds it; the admin key is refused', async () => {
    const t0 = Date.now();
    const res = await api(gw, parent, 'POST', '/api/v1/claim-intents', { ttlSeconds: 120 });
    expect(res.status).toBe(201);
    expect(res.body.parent_pub_key).toBe(parent.pubKey);
    expect(res.body.app_id).toBe(parent.appId);
    const exp = Date.parse(res.body.expires_at);
    expect(exp).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(gw.store.getClaimIntent(parent.pubKey)?.expires_at).toBe(res.body.expires_at);
    const byAdmin = await api(gw, null, 'POST', '/api/v1/claim-intents', {});
    expect(byAdmin.status).toBe(403);
    expect(gw.store.auditLog().some((a) => a.action === 'claim_intent' && a.outcome === 'refused:403' && a.auth_domain === 'local')).toBe(true);
    const del = await api(gw, parent, 'DELETE', '/api/v1/claim-intents');
    expect(del.body).toEqual({ parent_pub_key: parent.pubKey, deleted: true });
    expect(gw.store.getClaimIntent(parent.pubKey)).toBeUndefined();
  });

  it('without one a device is refused at first contact (no_claim_intent, 4005) and keeps trying', async () => {
    const d = bootDevice(gw, parent.pubKey);
    devices.push(d);
    d.device.start();
    await until(() => d.device.firstContact!.connects >= 2, 5000, 'a second attempt');
    const errors = d.tap.frames().filter((f) => f.type === 'error').map((f) => f.code);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(new Set(errors)).toEqual(new Set(['no_claim_intent']));
    expect(gw.store.listBootstrapDevices()).toEqual([]);
    // Once the parent registers intent, the next attempt is held for claim.
    await api(gw, parent, 'POST', '/api/v1/claim-intents', {});
    await next(d.device, 'pending');
    expect(gw.store.bootstrapDevicesByMac(d.mac)[0]?.status).toBe('awaiting');
  });
});

describe('POST /api/v1/claim', () => {
  beforeEach(async () => {
    expect((await api(gw, parent, 'POST', '/api/v1/claim-intents', {})).status).toBe(201);
  });

  it('the whole first contact: claim → signed provision → stored config → register with the pinned key → Status stored', async () => {
    const d = await awaiting();
    const listed = await api(gw, parent, 'GET', '/api/v1/bootstrap-devices?status=awaiting');
    expect(listed.body.devices.map((x: { mac: string; child_pub_key: string }) => [x.mac, x.child_pub_key])).toEqual([[d.mac, d.device.publicKey]]);
    const appId = crypto.randomUUID();
    const operating = next(d.device, 'operating');
    const res = await api(gw, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: d.mac.toLowerCase(), appId, appName: 'porch-light', roleRefs: ['lights'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ app_id: appId, parent_id: parent.appId, mac: d.mac, child_pub_key: d.device.publicKey, status: 'claimed' });
    expect(res.body.provision.payload).toEqual({
      appId, parentId: parent.appId, appName: 'porch-light', serverEp: null, parentPubKey: parent.pubKey,
      serverPubKey: gw.identity.publicKeyText, secLevel: 'signed', roleRefs: ['lights'], childPubKey: d.device.publicKey,
    });
    expect(await operating).toMatchObject({ appId, resumed: false });
    // What the device stored (its NVS) is what the provision said.
    expect(d.store.get('config')).toMatchObject({ appId, parentId: parent.appId, appName: 'porch-light', serverEp: gw.url, serverPubKey: gw.identity.publicKeyText, secLevel: 'signed', roleRefs: ['lights'], parentPubKey: parent.pubKey });
    const provision = d.tap.frames().find((f) => f.type === 'control' && f.action === 'provision')!;
    expect(provision.correlation_id).toBe(res.body.provision.correlation_id);
    await until(() => gw.store.getBootstrapDevice(d.device.publicKey)?.provision_status === 'acked', 3000, 'ack stored');
    const app = gw.store.getApp(appId)!;
    expect(app).toMatchObject({ parent_id: parent.appId, app_name: 'porch-light', pub_key: d.device.publicKey, sec_level: 'signed', role_refs: ['lights'], status: 'connected' });
    expect(d.device.status({ lux: 412 })).toBe(true);
    await until(() => gw.store.messages(appId).length === 1, 3000, 'status stored');
    expect(gw.store.messages(appId)[0]).toMatchObject({ msg_type: 'Status', seq: 1, payload_json: { lux: 412 } });
    expect(gw.store.getApp(appId)?.status).toBe('running');
  });

  it('is idempotent; a second claim with another app or parent is 409; an unknown device is 404', async () => {
    const d = await awaiting();
    const appId = crypto.randomUUID();
    const body = { parentId: parent.appId, childPubKey: d.device.publicKey, appId, appName: 'sensor' };
    const first = await api(gw, parent, 'POST', '/api/v1/claim', body);
    expect(first.status).toBe(201);
    const again = await api(gw, parent, 'POST', '/api/v1/claim', { ...body, childPubKey: undefined, childMac: d.mac });
    expect(again.status).toBe(200);
    expect(again.body.app_id).toBe(appId);
    expect(again.body.provision.correlation_id).toBe(first.body.provision.correlation_id);
    expect(again.body.provision.payload).toEqual(first.body.provision.payload);
    const otherApp = await api(gw, parent, 'POST', '/api/v1/claim', { ...body, appId: crypto.randomUUID() });
    expect(otherApp.status).toBe(409);
    const { app: child, link } = await parentApp(gw, parent.appId, 'room');
    links.push(link);
    const otherParent = await api(gw, parent, 'POST', '/api/v1/claim', { ...body, parentId: child.appId });
    expect(otherParent.status).toBe(409);
    expect(otherParent.body.error.message).toContain(`already claimed as app ${appId}`);
    const unknown = await api(gw, parent, 'POST', '/api/v1/claim', { ...body, childPubKey: undefined, childMac: 'DE:AD:BE:EF:00:01' });
    expect(unknown.status).toBe(404);
    const both = await api(gw, parent, 'POST', '/api/v1/claim', { ...body, childMac: d.mac });
    expect(both.status).toBe(400);
    expect(gw.store.listApps().filter((a) => a.app_name === 'sensor').map((a) => a.app_id)).toEqual([appId]);
    const outcomes = gw.store.auditLog().filter((a) => a.action === 'claim').map((a) => a.outcome).sort();
    expect(outcomes).toEqual(['already_claimed', 'claimed', 'conflict', 'conflict', 'not_found']);
  });

  it('signed by another key: 403 with an audit row, and nothing claimed; a parent outside the signer subtree: 403', async () => {
    const d = await awaiting();
    const { app: stranger, link } = await parentApp(gw, null, 'stranger');
    links.push(link);
    const appId = crypto.randomUUID();
    const res = await api(gw, stranger, 'POST', '/api/v1/claim', { parentId: stranger.appId, childMac: d.mac, appId, appName: 'stolen' });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('accepts claims only from the key it was made with');
    const row = gw.store.auditLog({ target_app_id: appId })[0]!;
    expect(row).toMatchObject({ action: 'claim', outcome: 'refused:403', auth_domain: 'tree', source_app_id: stranger.appId });
    expect(gw.store.getApp(appId)).toBeUndefined();
    expect(gw.store.bootstrapDevicesByMac(d.mac)[0]?.status).toBe('awaiting');
    const outside = await api(gw, parent, 'POST', '/api/v1/claim', { parentId: stranger.appId, childMac: d.mac, appId, appName: 'x' });
    expect(outside.status).toBe(403);
    const open = await api(gw, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: d.mac, appId, appName: 'x', newConfig: { secLevel: 'open' } });
    expect(open.status).toBe(400);
    expect(gw.store.getApp(appId)).toBeUndefined();
  });

  it('an unclaimed pin can be released by its parent key (then another key may take the MAC); a claimed one cannot', async () => {
    const d = await awaiting();
    const res = await api(gw, parent, 'DELETE', `/api/v1/bootstrap-devices/${d.mac}`);
    expect(res.status).toBe(200);
    expect(gw.store.bootstrapDevicesByMac(d.mac)[0]).toBeUndefined();
    const d2 = await awaiting();
    await api(gw, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: d2.mac, appId: crypto.randomUUID(), appName: 'y' });
    expect((await api(gw, parent, 'DELETE', `/api/v1/bootstrap-devices/${d2.mac}`)).status).toBe(409);
    expect((await api(gw, null, 'GET', '/api/v1/bootstrap-devices')).body.devices.map((x: { mac: string }) => x.mac)).toContain(d2.mac);
  });
});
