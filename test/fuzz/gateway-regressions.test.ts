/**
 * The crashes of issue 11 over real sockets, against a gateway in this
 * process: each used to end the process (an exception out of a socket
 * event). Each is now answered with a typed error on its own socket, and the
 * gateway goes on serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/app.js';
import { cleanDirs, startTestGateway } from '../api/support/api-harness.js';
import { Device } from '../support/hub-harness.js';
import { RawDevice } from '../support/gateway.js';

const nest = (n: number): string => '['.repeat(n) + '0' + ']'.repeat(n);
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startTestGateway({ heartbeatMs: 0 });
});
afterAll(async () => {
  await gw?.stop();
  cleanDirs();
});

async function answer(dev: RawDevice, text: string): Promise<Record<string, unknown>> {
  const n = dev.frames.length;
  dev.send(text);
  await dev.until((d) => d.frames.length > n);
  return dev.frames[n]!;
}

async function registered(tier: 'open' | 'signed'): Promise<{ dev: RawDevice; d: Device }> {
  const d = new Device(undefined, tier, null, Date.now());
  const dev = await RawDevice.open(gw.wsUrl);
  expect(await answer(dev, JSON.stringify(d.register()))).toMatchObject({ type: 'registered' });
  return { dev, d };
}

async function expectServing(): Promise<void> {
  expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  const { dev, d } = await registered('open');
  expect(await answer(dev, JSON.stringify(d.message({ ok: 1 })))).toMatchObject({ type: 'ack', seq: 1 });
  dev.ws.close();
}

describe('over real sockets, what used to stop the process', () => {
  it('a 20,000-level frame (40 KB) on a fresh, unauthenticated socket', async () => {
    const dev = await RawDevice.open(gw.wsUrl);
    expect(await answer(dev, nest(20_000))).toMatchObject({ type: 'error', code: 'too_complex' });
    dev.ws.close();
    await expectServing();
  });

  it('the same depth in a message payload, open and signed', async () => {
    for (const tier of ['open', 'signed'] as const) {
      const { dev, d } = await registered(tier);
      const text = JSON.stringify(d.message({ v: 1 })).replace('{"v":1}', nest(20_000));
      expect(await answer(dev, text)).toMatchObject({ type: 'error', code: 'too_complex' });
      expect(gw.store.messages(d.appId)).toEqual([]);
      dev.ws.close();
    }
    await expectServing();
  });

  it('the same depth in a bootstrap_register', async () => {
    const dev = await RawDevice.open(gw.wsUrl);
    const text = `{"type":"bootstrap_register","child_pub_key":"k","parent_pub_key":"k","device_info":${nest(20_000)},"timestamp":1,"sig":"s"}`;
    expect(await answer(dev, text)).toMatchObject({ type: 'error', code: 'too_complex' });
    dev.ws.close();
    await expectServing();
  });

  it('an open register with process_info.start_time 1e20 (170 bytes), and one with an object pid', async () => {
    for (const process_info of [{ start_time: 1e20 }, { pid: { a: 1 } }]) {
      const d = new Device(undefined, 'open', null, Date.now());
      const dev = await RawDevice.open(gw.wsUrl);
      expect(await answer(dev, JSON.stringify(d.register({ process_info })))).toMatchObject({ type: 'error', code: 'bad_frame', app_id: d.appId });
      expect(gw.store.getApp(d.appId)).toBeUndefined();
      dev.ws.close();
    }
    await expectServing();
  });
});
