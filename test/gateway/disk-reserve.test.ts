/** Below the disk reserve: /healthz says so, data waits on the device, registrations go on. */
import { afterEach, describe, expect, it } from 'vitest';
import { Device } from '../support/hub-harness.js';
import { RawDevice, withGateway } from '../support/gateway.js';

type Gw = Awaited<ReturnType<typeof withGateway>>;
let gw: Gw | undefined;
afterEach(async () => {
  await gw?.cleanup();
  gw = undefined;
});

describe('the disk reserve', () => {
  it('a reserve larger than the free space: low_space in /healthz, data refused with storage_unavailable, registration stored', async () => {
    gw = await withGateway({ diskReserveBytes: Number.MAX_SAFE_INTEGER, verifyWorkers: 0 });
    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; disk: { free_bytes: number; low_space: boolean; reserve_bytes: number } };
    expect(health.status).toBe('ok');
    expect(health.disk.low_space).toBe(true);
    expect(health.disk.free_bytes).toBeGreaterThan(0);
    const dev = await RawDevice.open(gw.wsUrl);
    const d = new Device(undefined, 'open', null, Date.now());
    dev.send(d.register());
    await dev.until((x) => x.frames.some((f) => f.type === 'registered'));
    dev.send(d.message({ n: 1 }));
    await dev.until((x) => x.frames.some((f) => f.type === 'error'));
    expect(dev.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'storage_unavailable', seq: 1 });
    expect(gw.store.getApp(d.appId)?.status).toBe('connected');
    expect(gw.store.maxSeq(d.appId)).toBe(0);
  });

  it('with room to spare: low_space false and data stored', async () => {
    gw = await withGateway({ diskReserveBytes: 1, verifyWorkers: 0 });
    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { disk: { low_space: boolean; reserve_bytes: number } };
    expect(health.disk).toMatchObject({ low_space: false, reserve_bytes: 1 });
  });
});
