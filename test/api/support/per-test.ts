/**
 * One gateway per test, and the device links and watchers a test opens,
 * closed after it (watchers and links first, then the gateway).
 */
import { afterAll, afterEach } from 'vitest';
import type { RunningGateway } from '../../../gateway/app.js';
import type { GatewayConfig } from '../../../gateway/config.js';
import { cleanDirs, startTestGateway } from './api-harness.js';
import { SimLink } from './sim-device.js';

export interface PerTest {
  start(over?: Partial<GatewayConfig>): Promise<RunningGateway>;
  /** A device link to `g`, closed after the test. */
  link(g: RunningGateway): Promise<SimLink>;
  /** Closes `x` after the test. */
  track<T extends { close(): void }>(x: T): T;
}

export function gatewayPerTest(): PerTest {
  let gw: RunningGateway | undefined;
  const open: Array<{ close(): void }> = [];
  afterEach(async () => {
    for (const x of open.splice(0)) x.close();
    await gw?.stop();
    gw = undefined;
  });
  afterAll(cleanDirs);
  const track = <T extends { close(): void }>(x: T): T => {
    open.push(x);
    return x;
  };
  return {
    start: async (over = {}) => (gw = await startTestGateway(over)),
    link: async (g) => track(await SimLink.open(g.wsUrl)),
    track,
  };
}
