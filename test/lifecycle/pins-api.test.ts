/**
 * "Nobody takes a device before its owner", end to end on a real gateway with
 * simulated devices on real sockets: the found attack (a stranger registers a
 * root, posts a claim intent with its own key and makes first contact with
 * the victim's MAC) no longer locks the owner out; the holder of an intent
 * releases what it caught; a MAC that two keys presented is claimed by key.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { cleanDirs } from '../api/support/api-harness.js';
import type { SimApp, SimLink } from '../api/support/sim-device.js';
import { api, bootDevice, gateway, next, parentApp, type SimDevice } from './support/life-harness.js';

let gw: RunningGateway;
let owner: SimApp;
let stranger: SimApp;
const links: SimLink[] = [];
const devices: SimDevice[] = [];

beforeEach(async () => {
  gw = await gateway();
  for (const [name, set] of [['owner', (a: SimApp) => (owner = a)], ['stranger', (a: SimApp) => (stranger = a)]] as const) {
    const p = await parentApp(gw, null, name);
    set(p.app);
    links.push(p.link);
  }
  expect((await api(gw, owner, 'POST', '/api/v1/claim-intents', {})).status).toBe(201);
  expect((await api(gw, stranger, 'POST', '/api/v1/claim-intents', {})).status).toBe(201);
});

afterEach(async () => {
  devices.splice(0).forEach((d) => d.device.stop());
  links.splice(0).forEach((l) => l.close());
  await gw.stop();
});
afterAll(cleanDirs);

async function awaiting(parentPubKey: string, mac?: string): Promise<SimDevice> {
  const d = bootDevice(gw, parentPubKey, mac ? { device: { chip: 'ESP32-S3', mac, firmware: 'v1', flash_id: 'f' } } : {});
  devices.push(d);
  const pending = next(d.device, 'pending');
  d.device.start();
  await pending;
  return d;
}

describe('pins on a real gateway', () => {
  it('the found attack: the stranger takes the victim MAC first and claims it; the owner still claims its own device', async () => {
    const thief = await awaiting(stranger.pubKey, 'AA:BB:CC:00:00:01');
    const t = await api(gw, stranger, 'POST', '/api/v1/claim', { parentId: stranger.appId, childMac: thief.mac, appId: crypto.randomUUID(), appName: 'stolen' });
    expect(t.status).toBe(201);
    const victim = await awaiting(owner.pubKey, 'AA:BB:CC:00:00:01');
    const appId = crypto.randomUUID();
    const operating = next(victim.device, 'operating');
    const res = await api(gw, owner, 'POST', '/api/v1/claim', { parentId: owner.appId, childMac: victim.mac, appId, appName: 'lock' });
    expect(res.status).toBe(201);
    expect(res.body.child_pub_key).toBe(victim.device.publicKey);
    await operating;
    expect(gw.store.getApp(appId)?.parent_id).toBe(owner.appId);
    const pin = gw.store.auditLog({ target_app_id: appId }).find((a) => a.action === 'pin')!;
    expect(pin).toMatchObject({ outcome: 'pinned', payload_json: { mac: victim.mac, child_pub_key: victim.device.publicKey, parent_pub_key: owner.pubKey } });
  });

  it('two keys named the owner with one MAC: a claim by MAC is 409 (ambiguous); by key it pins one and forgets the other', async () => {
    const real = await awaiting(owner.pubKey, 'AA:BB:CC:00:00:02');
    const rival = await awaiting(owner.pubKey, 'AA:BB:CC:00:00:02');
    const appId = crypto.randomUUID();
    const amb = await api(gw, owner, 'POST', '/api/v1/claim', { parentId: owner.appId, childMac: real.mac, appId, appName: 'x' });
    expect(amb.status).toBe(409);
    expect(amb.body.error.message).toContain('claim by body/childPubKey');
    expect(gw.store.getApp(appId)).toBeUndefined();
    const ok = await api(gw, owner, 'POST', '/api/v1/claim', { parentId: owner.appId, childPubKey: real.device.publicKey, appId, appName: 'x' });
    expect(ok.status).toBe(201);
    expect(gw.store.getBootstrapDevice(rival.device.publicKey)).toBeUndefined();
    expect(gw.store.auditLog({ target_app_id: appId }).find((a) => a.action === 'pin')?.payload_json).toMatchObject({ released: [rival.device.publicKey] });
  });

  it('the holder of an intent releases what it caught, one key or all; never what another parent key caught', async () => {
    const mac = 'AA:BB:CC:00:00:03';
    const mine1 = await awaiting(owner.pubKey, mac);
    const mine2 = await awaiting(owner.pubKey, mac);
    const theirs = await awaiting(stranger.pubKey, mac);
    // Stopped first: a device that is still on makes first contact again after its release, as it should.
    [mine1, mine2].forEach((d) => d.device.stop());
    const one = await api(gw, owner, 'DELETE', `/api/v1/bootstrap-devices/${mac}?childPubKey=${encodeURIComponent(mine1.device.publicKey)}`);
    expect(one.status).toBe(200);
    expect(one.body.devices.map((d: { child_pub_key: string }) => d.child_pub_key)).toEqual([mine1.device.publicKey]);
    const other = await api(gw, owner, 'DELETE', `/api/v1/bootstrap-devices/${mac}?childPubKey=${encodeURIComponent(theirs.device.publicKey)}`);
    expect(other.status).toBe(403);
    const rest = await api(gw, owner, 'DELETE', `/api/v1/bootstrap-devices/${mac}`);
    expect(rest.body.devices.map((d: { child_pub_key: string }) => d.child_pub_key)).toEqual([mine2.device.publicKey]);
    expect(gw.store.bootstrapDevicesByMac(mac).map((d) => d.child_pub_key)).toEqual([theirs.device.publicKey]);
    const audits = gw.store.auditLog().filter((a) => a.action === 'release_pin').map((a) => a.outcome);
    expect(audits).toEqual(expect.arrayContaining(['released', 'refused:403', 'released']));
    expect((await api(gw, owner, 'DELETE', `/api/v1/bootstrap-devices/${mac}?childPubKey=bad`)).status).toBe(400);
  });
});
