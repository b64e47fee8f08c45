/**
 * One simulated device's whole life against two real gateways in this
 * process: bootstrap → claim → provision → operate → rotate_keys → migrate
 * to the second gateway → re-parent to another owner; then the bad cases of
 * a life: a migrate to a gateway that is not there, a provision replayed to
 * another device, and a restart from the device's persistent store.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { FileConfigStore } from '../../client/nvs-store.js';
import { cleanDirs, until } from '../api/support/api-harness.js';
import type { SimApp, SimLink } from '../api/support/sim-device.js';
import { api, bootDevice, gateway, next, parentApp, sameAppOn, type SimDevice } from './support/life-harness.js';

let gwA: RunningGateway;
let gwB: RunningGateway | undefined;
let parent: SimApp;
const links: SimLink[] = [];
const devices: SimDevice[] = [];
const tmp: string[] = [];

beforeEach(async () => {
  gwA = await gateway({ serverInstance: 'gw-a' });
  const p = await parentApp(gwA);
  parent = p.app;
  links.push(p.link);
  expect((await api(gwA, parent, 'POST', '/api/v1/claim-intents', {})).status).toBe(201);
});

afterEach(async () => {
  devices.splice(0).forEach((d) => d.device.stop());
  links.splice(0).forEach((l) => l.close());
  await gwA.stop();
  await gwB?.stop();
  gwB = undefined;
  tmp.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
afterAll(cleanDirs);

/** A device taken from first contact to operating on gateway A. */
async function operatingDevice(over: Parameters<typeof bootDevice>[2] = {}): Promise<{ d: SimDevice; appId: string }> {
  const d = bootDevice(gwA, parent.pubKey, { rotationSkewMs: 300, ...over });
  devices.push(d);
  const pending = next(d.device, 'pending');
  d.device.start();
  await pending;
  const appId = crypto.randomUUID();
  const operating = next(d.device, 'operating');
  const claim = await api(gwA, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: d.mac, appId, appName: 'thermostat', roleRefs: ['climate'] });
  expect(claim.status).toBe(201);
  await operating;
  return { d, appId };
}

const inbound = (gw: RunningGateway, appId: string) => gw.store.messages(appId).filter((m) => m.direction === 'in').map((m) => [m.seq, m.payload_json]);

describe('a claim that names a server out of reach', () => {
  it('the device tries it within its bounds, then makes first contact again and is owed the provision once more', async () => {
    const d = bootDevice(gwA, parent.pubKey, { move: { attempts: 2, timeoutMs: 2_000 } });
    devices.push(d);
    const pending = next(d.device, 'pending');
    d.device.start();
    await pending;
    const appId = crypto.randomUUID();
    const failed = next(d.device, 'move_failed', () => true, 8000);
    const claim = await api(gwA, parent, 'POST', '/api/v1/claim', {
      parentId: parent.appId, childMac: d.mac, appId, appName: 'far-away',
      newConfig: { serverEp: 'http://127.0.0.1:9', serverPubKey: gwA.identity.publicKeyText },
    });
    expect(claim.status).toBe(201);
    const again = next(d.device, 'provisioned', () => true, 12_000);
    expect(await failed).toMatchObject({ kind: 'provision', to: 'http://127.0.0.1:9' });
    expect(d.store.get('config')).toBeUndefined(); // the unreachable config is forgotten
    expect(await again).toMatchObject({ appId, serverEp: 'http://127.0.0.1:9' }); // owed again at first contact
    expect(gwA.store.getApp(appId)?.status).toBe('scheduled');
    expect(gwA.store.bootstrapDeviceByApp(appId)?.status).toBe('claimed');
  });
});

describe('rotation of the device key', () => {
  it('rotate_keys with newDeviceKey: the device switches identity at effectiveAfter, with no gap, and the pin follows', async () => {
    const { d, appId } = await operatingDevice();
    d.device.status({ n: 1 });
    await until(() => inbound(gwA, appId).length === 1, 3000, 'first status');
    const oldKey = d.device.publicKey;
    const effectiveAfter = new Date(Date.now() + 1500).toISOString();
    const switched = next(d.device, 'device_key_switched', () => true, 8000);
    const rotate = await api(gwA, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newDeviceKey: true, effectiveAfter });
    expect(rotate.status).toBe(200);
    const newKey: string = rotate.body.response.result.newChildPubKey;
    expect(newKey).not.toBe(oldKey);
    expect(gwA.store.getApp(appId)!.metadata_json).toMatchObject({ key_rotation: { new_pub_key: newKey, effective_after: effectiveAfter } });
    d.device.status({ n: 2 }); // still under the old key: it keeps working until the switch
    await until(() => inbound(gwA, appId).length === 2, 3000, 'status under the old key');
    expect(await switched).toEqual({ publicKey: newKey });
    await until(() => gwA.store.getApp(appId)?.pub_key === newKey, 5000, 'the gateway took the new key');
    d.device.status({ n: 3 });
    await until(() => inbound(gwA, appId).length === 3, 5000, 'status under the new key');
    expect(inbound(gwA, appId)).toEqual([[1, { n: 1 }], [2, { n: 2 }], [3, { n: 3 }]]);
    const row = gwA.store.getApp(appId)!;
    expect(row.status).toBe('running');
    expect((row.metadata_json as Record<string, unknown> | null)?.key_rotation).toBeUndefined();
    expect(gwA.store.bootstrapDeviceByApp(appId)?.child_pub_key).toBe(newKey);
    expect(gwA.store.crashes({ app_id: appId })).toEqual([]);
  });
});

describe('a device life across two gateways', () => {
  it('bootstrap → claim → provision → operate → rotate_keys → migrate → re-parent', async () => {
    const { d, appId } = await operatingDevice();
    // The app's own handler: it must survive every client the device builds (moves, re-provisioning).
    d.device.on('ping', (payload) => ({ pong: payload }));
    d.device.status({ step: 'operate' });
    await until(() => inbound(gwA, appId).length === 1, 3000, 'first status');

    // ── rotate_keys: a new gateway key and a new parent key, effective shortly ──
    const effectiveAfter = new Date(Date.now() + 1500).toISOString();
    const scheduled = await api(gwA, null, 'POST', '/api/v1/server-key/rotate', { effectiveAfter });
    expect(scheduled.status).toBe(201);
    const newServerKey: string = scheduled.body.next_pub_key;
    expect(statSync(join(gwA.config.dataDir, 'server.next.key')).mode & 0o777).toBe(0o600);
    const newParentKey = encodePublicKey(generateKeyPair().publicKey);
    const oldServerKey = gwA.identity.publicKeyText;
    const switched = next(d.device, 'keys_switched', () => true, 8000);
    const rotate = await api(gwA, parent, 'POST', `/api/v1/apps/${appId}/rotate-keys`, { newServerPubKey: newServerKey, newParentPubKey: newParentKey, effectiveAfter });
    expect(rotate.status).toBe(200);
    expect(rotate.body.response).toEqual({ ack: true, result: { effectiveAfter } });
    expect(d.store.get('server_keys')).toEqual({ current: oldServerKey, next: { key: newServerKey, effectiveAfter: Date.parse(effectiveAfter) } });
    expect(await switched).toEqual({ serverPubKey: newServerKey, parentPubKey: newParentKey });
    expect(gwA.identity.publicKeyText).toBe(newServerKey);
    expect(d.store.get('config')).toMatchObject({ serverPubKey: newServerKey, parentPubKey: newParentKey });
    // A control signed with the new key is verified and answered (one that does not verify is never answered).
    const ping = await api(gwA, parent, 'POST', `/api/v1/apps/${appId}/control`, { action: 'ping', payload: 'a', timeoutMs: 3000 });
    expect(ping.status).toBe(200);
    expect(ping.body.response).toEqual({ ack: true, result: { pong: 'a' } });

    // ── migrate to gateway B (its parent moves first) ──
    gwB = await gateway({ serverInstance: 'gw-b' });
    links.push(await sameAppOn(gwB, parent));
    const moved = next(d.device, 'moved');
    const mig = await api(gwA, parent, 'POST', `/api/v1/apps/${appId}/migrate`, { newServerEp: gwB.url, newServerPubKey: gwB.identity.publicKeyText });
    expect(mig.status).toBe(200);
    expect(mig.body.response).toEqual({ ack: true, result: { leaving_for: gwB.url } });
    expect(await moved).toEqual({ kind: 'migrate', from: gwA.url, to: gwB.url });
    await until(() => gwB!.store.getApp(appId)?.status === 'connected', 3000, 'registered on B');
    const onA = gwA.store.getApp(appId)!;
    expect(onA.status).toBe('lost_contact');
    expect(onA.metadata_json).toMatchObject({ migrated_to: gwB.url });
    expect(gwA.store.crashes({ app_id: appId })).toEqual([]);
    expect(gwB.store.getApp(appId)).toMatchObject({ parent_id: parent.appId, pub_key: d.device.publicKey, server_instance: 'gw-b' });
    expect(d.store.get('config')).toMatchObject({ appId, serverEp: gwB.url, serverPubKey: gwB.identity.publicKeyText });
    d.device.status({ step: 'on-b' });
    await until(() => inbound(gwB!, appId).length === 1, 3000, 'status on B');
    expect(inbound(gwB, appId)).toEqual([[2, { step: 'on-b' }]]);

    // ── re-parent on B: the device goes to another owner. The current parent alone may not put it into a tree it has
    // no rights over (403); the admin, who holds both, hands it over. ──
    const { app: owner, link } = await parentApp(gwB, null, 'new-owner');
    links.push(link);
    expect((await api(gwB, parent, 'POST', `/api/v1/apps/${appId}/provision`, { parentId: owner.appId })).status).toBe(403);
    const reprovisioned = next(d.device, 'operating', (e) => e.resumed);
    const prov = await api(gwB, null, 'POST', `/api/v1/apps/${appId}/provision`, { parentId: owner.appId });
    expect(prov.status).toBe(200);
    expect(prov.body.response).toMatchObject({ ack: true, result: { parentId: owner.appId } });
    expect(gwB.store.getApp(appId)?.parent_id).toBe(owner.appId);
    expect((await api(gwB, parent, 'POST', `/api/v1/apps/${appId}/control`, { action: 'ping', timeoutMs: 100 })).status).toBe(403);
    await reprovisioned;
    expect(d.store.get('config')).toMatchObject({ appId, parentId: owner.appId, parentPubKey: owner.pubKey, serverEp: gwB.url });
    const byOwner = await api(gwB, owner, 'POST', `/api/v1/apps/${appId}/control`, { action: 'ping', payload: 'b', timeoutMs: 3000 });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body.response).toEqual({ ack: true, result: { pong: 'b' } });
    expect(gwB.store.getApp(appId)?.status).toBe('running');
    expect(gwB.store.crashes({ app_id: appId })).toEqual([]);
    const audit = gwB.store.auditLog({ target_app_id: appId }).find((a) => a.action === 'provision' && a.outcome === 'sent')!;
    expect(audit.payload_json).toMatchObject({ old_parent_id: parent.appId, new_parent_id: owner.appId, reparent: true });
    d.device.status({ step: 'new-owner' });
    await until(() => inbound(gwB!, appId).length === 2, 3000, 'status after re-parent');
    expect(inbound(gwB, appId)[1]).toEqual([3, { step: 'new-owner' }]);
  });

  it('a migrate to a gateway that is not there: the device comes back to the old one and re_registers', async () => {
    const { d, appId } = await operatingDevice();
    const failed = next(d.device, 'move_failed');
    const back = next(d.device, 'operating', (e) => e.resumed);
    const mig = await api(gwA, parent, 'POST', `/api/v1/apps/${appId}/migrate`, { newServerEp: 'ws://127.0.0.1:9/ws', newServerPubKey: encodePublicKey(generateKeyPair().publicKey) });
    expect(mig.status).toBe(200);
    const f = await failed;
    expect(f).toMatchObject({ kind: 'migrate', to: 'ws://127.0.0.1:9/ws' });
    expect(f.reason).toMatch(/connection attempts failed|no registration within/);
    expect(await back).toMatchObject({ appId, serverEp: gwA.url, resumed: true });
    // It sent re_register (not register) on coming back, kept its old config, and is not a crash.
    expect(d.tap.urls.filter((u) => u.includes(':9/')).length).toBeGreaterThanOrEqual(1);
    expect(d.store.get('config')).toMatchObject({ serverEp: gwA.url, serverPubKey: gwA.identity.publicKeyText });
    await until(() => gwA.store.getApp(appId)?.status === 'running', 3000, 'running again');
    expect(gwA.store.crashes({ app_id: appId })).toEqual([]);
    expect((gwA.store.getApp(appId)!.metadata_json as Record<string, unknown> | null)?.migrated_to).toBeUndefined(); // back: the mark is gone
    d.device.status({ back: true });
    await until(() => inbound(gwA, appId).length === 1, 3000, 'status after return');
    expect(inbound(gwA, appId)).toEqual([[1, { back: true }]]);
  });

  it('a provision captured from one device and replayed to another is refused; nothing is stored', async () => {
    const a = bootDevice(gwA, parent.pubKey);
    const b = bootDevice(gwA, parent.pubKey);
    devices.push(a, b);
    const pending = Promise.all([next(a.device, 'pending'), next(b.device, 'pending')]);
    a.device.start();
    b.device.start();
    await pending;
    const operating = next(a.device, 'operating');
    await api(gwA, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childMac: a.mac, appId: crypto.randomUUID(), appName: 'a' });
    await operating;
    const captured = a.tap.frames().find((f) => f.type === 'control' && f.action === 'provision')!;
    const refused = next(b.device, 'refused');
    b.tap.inject(captured);
    expect(await refused).toEqual({ action: 'provision', reason: 'provision is bound to another device key (childPubKey): not for this device' });
    expect(b.store.get('config')).toBeUndefined();
    expect(b.device.phase).toBe('first_contact');
    expect(gwA.store.bootstrapDevicesByMac(b.mac)[0]?.status).toBe('awaiting');
  });

  it('restarts from its persistent store: same identity, resumes with re_register, numbering continues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trails-nvs-'));
    tmp.push(dir);
    const path = join(dir, 'nvs.json');
    const { d, appId } = await operatingDevice({ store: new FileConfigStore(path) });
    d.device.status({ boot: 1 });
    await until(() => inbound(gwA, appId).length === 1, 3000, 'first status');
    d.device.stop();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = bootDevice(gwA, parent.pubKey, { store: new FileConfigStore(path), device: { chip: 'ESP32-S3', mac: d.mac, firmware: 'v1.0.3', flash_id: 'x' } });
    devices.push(again);
    expect(again.device.publicKey).toBe(d.device.publicKey);
    const resumed = next(again.device, 'operating');
    again.device.start();
    expect(await resumed).toMatchObject({ appId, resumed: true });
    again.device.status({ boot: 2 });
    await until(() => inbound(gwA, appId).length === 2, 3000, 'second status');
    expect(inbound(gwA, appId)).toEqual([[1, { boot: 1 }], [2, { boot: 2 }]]);
  });
});
