/**
 * Bench 2, connections: `connections` idle devices, each on its own socket
 * and registered (open tier), spread over several generator processes (one
 * process has 20,000 fds). Reports the gateway's memory per connection above
 * its idle baseline (VmRSS from /proc, heapUsed through the inspector, both
 * after a forced GC) and registrations per second.
 */
import { GatewayProcess, LIFTED_CAP_ARGS } from './lib/gateway.js';
import { Inspector } from './lib/inspector.js';
import { cpuShare, memory, sample } from './lib/proc.js';
import { freePort, sleep, tempDir, waitFor } from './lib/util.js';
import { startPool } from './sim/pool.js';

export interface ConnectionsOptions {
  connections: number;
  procs: number;
  entry: 'dist' | 'src';
}

export interface ConnectionsResult {
  connections: number;
  registered: number;
  gatewayConnections: number;
  liveApps: number;
  registerSec: number;
  registrationsPerSec: number;
  /** Gateway CPU while the devices connected and registered (1.0 = one core). */
  registerCpuCores: number;
  baseline: { rssBytes: number; heapUsedBytes: number };
  loaded: { rssBytes: number; heapUsedBytes: number };
  perConnection: { rssBytes: number; heapBytes: number };
}

export async function runConnections(o: ConnectionsOptions): Promise<ConnectionsResult> {
  const dir = tempDir('connections');
  const gw = await GatewayProcess.start({
    port: await freePort(),
    dataDir: dir.path,
    entry: o.entry,
    nodeArgs: ['--inspect=127.0.0.1:0'],
    args: ['--max-connections', String(o.connections + 2000), '--heartbeat', '0', ...LIFTED_CAP_ARGS],
  });
  let inspector: Inspector | undefined;
  let pool: Awaited<ReturnType<typeof startPool>> | undefined;
  try {
    if (!(await waitFor(() => gw.inspectorUrl !== undefined, 5000))) throw new Error('no inspector URL from the gateway');
    inspector = await Inspector.connect(gw.inspectorUrl!);
    const measure = async (): Promise<{ rssBytes: number; heapUsedBytes: number }> => {
      await inspector!.gc();
      await sleep(300);
      return { rssBytes: memory(gw.pid).rssBytes, heapUsedBytes: (await inspector!.memoryUsage()).heapUsed };
    };
    await sleep(500);
    const baseline = await measure();

    pool = await startPool(
      { kind: 'ws', url: gw.wsUrl, devices: o.connections, window: 1, tier: 'open', reconnect: false, presign: 0, concurrency: 64, namePrefix: `conn-${process.pid}` },
      o.procs,
    );
    await pool.call('prepare');
    const s0 = sample(gw.pid);
    const conn = await pool.call('connect');
    const s1 = sample(gw.pid);
    const registerSec = (s1.at - s0.at) / 1000;
    const registered = conn.reduce((n, c) => n + c.registered, 0);
    await sleep(1000);
    const health = await gw.health();
    const loaded = await measure();
    const n = registered || 1;
    return {
      connections: o.connections,
      registered,
      gatewayConnections: health.connections,
      liveApps: health.live_apps,
      registerSec,
      registrationsPerSec: registered / registerSec,
      registerCpuCores: cpuShare(s0, s1),
      baseline,
      loaded,
      perConnection: { rssBytes: (loaded.rssBytes - baseline.rssBytes) / n, heapBytes: (loaded.heapUsedBytes - baseline.heapUsedBytes) / n },
    };
  } finally {
    inspector?.close();
    await pool?.close();
    await gw.stop();
    dir.remove();
  }
}
