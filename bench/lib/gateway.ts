/**
 * The gateway as its own process, the way it runs in production:
 * `node dist/gateway/main.js --listen 127.0.0.1:PORT --data-dir DIR ...`
 * ('src' runs gateway/main.ts through tsx, for tests that must not depend on
 * a build). Ready means GET /healthz answered 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, stopChild, Tail, track } from './children.js';
import { sleep } from './util.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Every bench device and watcher comes from 127.0.0.1, and some sockets carry
 * a thousand apps: the per-address and per-socket caps (issue 11) are lifted,
 * as the per-connection rate limits are. The global --max-connections stays.
 */
export const LIFTED_CAPS = {
  maxConnectionsPerAddress: 1_000_000,
  maxUnregisteredPerAddress: 1_000_000,
  maxAppsPerConnection: 1_000_000,
  maxWatchersPerAddress: 1_000_000,
} as const;

/** LIFTED_CAPS as trailsd flags. */
export const LIFTED_CAP_ARGS = [
  '--max-connections-per-address', String(LIFTED_CAPS.maxConnectionsPerAddress),
  '--max-unregistered-per-address', String(LIFTED_CAPS.maxUnregisteredPerAddress),
  '--max-apps-per-connection', String(LIFTED_CAPS.maxAppsPerConnection),
  '--max-watchers-per-address', String(LIFTED_CAPS.maxWatchersPerAddress),
];

export interface GatewayProcOptions {
  port: number;
  dataDir: string;
  /** Extra trailsd flags (--rate, --burst, ...). */
  args?: string[];
  entry?: 'dist' | 'src';
  /** Extra node flags, e.g. --inspect=127.0.0.1:0 or --cpu-prof. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

export interface Health {
  status: string;
  connections: number;
  live_apps: number;
  /** The gateway key, ed25519:... (devices of the signed tiers pin it). */
  server_pub_key: string;
}

export class GatewayProcess {
  readonly tail = new Tail();
  /** ws://127.0.0.1:PORT/... of the inspector, when started with --inspect. */
  inspectorUrl?: string;
  /** ms from spawn to the first 200 on /healthz. */
  startupMs = NaN;

  private constructor(readonly child: ChildProcess, readonly port: number) {
    const onOut = (b: Buffer): void => {
      this.tail.push(b);
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(String(b));
      if (m) this.inspectorUrl = m[1];
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onOut);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  static async start(o: GatewayProcOptions): Promise<GatewayProcess> {
    const main = o.entry === 'src' ? ['--import', 'tsx', 'gateway/main.ts'] : ['dist/gateway/main.js'];
    const args = [...(o.nodeArgs ?? []), ...main, '--listen', `127.0.0.1:${o.port}`, '--data-dir', o.dataDir, '--log-level', 'warn', '--registration', 'open', ...(o.args ?? [])];
    const t0 = performance.now();
    const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    const gw = new GatewayProcess(child, o.port);
    const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if ((await gw.health().catch(() => undefined))?.status === 'ok') {
        gw.startupMs = performance.now() - t0;
        return gw;
      }
      await sleep(20);
    }
    child.kill('SIGKILL');
    throw new Error(`gateway did not become ready:\n${gw.tail.text()}`);
  }

  async health(): Promise<Health> {
    const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as Health;
  }

  /** kill -9: no flush, no close; whatever was not committed is gone. */
  async kill9(): Promise<void> {
    const done = exited(this.child);
    this.child.kill('SIGKILL');
    await done;
  }

  stop(): Promise<number | string | null> {
    return stopChild(this.child);
  }
}
