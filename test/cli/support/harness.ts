/**
 * The CLI against a real in-process gateway: run() called in-process with its
 * own environment and captured output, session agents in-process (the same
 * SessionAgent a spawned agent runs), and devices that are TypeScript
 * clients in this process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../../gateway/app.js';
import { defaultConfig } from '../../../gateway/config.js';
import { TrailsClient } from '../../../client/client.js';
import { decodeTrailsInfo } from '../../../client/config.js';
import { silentLogger } from '../../../client/log.js';
import { callAgent, type AgentSpec } from '../../../cli/agent/protocol.js';
import type { AgentPort } from '../../../cli/agent/port.js';
import { SessionAgent } from '../../../cli/agent/session-agent.js';
import { run } from '../../../cli/run.js';
import type { ProcessInfo } from '../../../protocol/frames.js';
import type { Env } from '../../../cli/settings.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class InProcessAgents implements AgentPort {
  readonly agents: SessionAgent[] = [];
  readonly specs: AgentSpec[] = [];

  async launch(spec: AgentSpec): Promise<{ lastSeq: number; pid: number | null }> {
    const agent = new SessionAgent(spec, { lingerMs: 2_000, registerTimeoutMs: 5_000 });
    const { lastSeq } = await agent.start();
    this.agents.push(agent);
    this.specs.push(spec);
    return { lastSeq, pid: null };
  }

  call = callAgent;

  agentOf(appId: string): SessionAgent | undefined {
    return this.agents.find((a) => a.appId === appId);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.agents.splice(0).map((a) => a.stop('test over')));
  }
}

export class Harness {
  readonly agents = new InProcessAgents();
  readonly devices: TrailsClient[] = [];
  private constructor(
    readonly gw: RunningGateway,
    readonly dir: string,
  ) {}

  static async start(): Promise<Harness> {
    const dir = mkdtempSync(join(tmpdir(), 'trails-cli-'));
    const gw = await startGateway({ ...defaultConfig(), dataDir: join(dir, 'data'), host: '127.0.0.1', port: 0, logLevel: 'silent', heartbeatMs: 0 });
    return new Harness(gw, dir);
  }

  get env(): Env {
    return { TRAILS_SERVER: this.gw.url, TRAILS_DATA_DIR: this.gw.config.dataDir, TRAILS_RUNTIME_DIR: join(this.dir, 'run') };
  }

  /** The CLI in-process, as the admin unless `env` says otherwise. */
  async cli(args: string[], env: Env = {}): Promise<CliResult> {
    let stdout = '';
    let stderr = '';
    const code = await run(args, {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { ...this.env, ...env },
      cwd: this.dir,
      agents: this.agents,
      ownerPid: null,
    });
    return { code, stdout, stderr };
  }

  /** `eval "$(trails register …)"`: the exported variables. */
  async register(args: string[] = [], env: Env = {}): Promise<Env> {
    const r = await this.cli(['register', ...args], env);
    if (r.code !== 0) throw new Error(`register failed (${r.code}): ${r.stderr}`);
    return { ...env, ...parseExports(r.stdout) };
  }

  /** `trails child-info` as `parentEnv`: the child's id and TRAILS_INFO. */
  async childInfo(parentEnv: Env, args: string[] = []): Promise<{ appId: string; info: string }> {
    const r = await this.cli(['child-info', '--json', ...args], parentEnv);
    if (r.code !== 0) throw new Error(`child-info failed (${r.code}): ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { appId: string; trailsInfo: string };
    return { appId: j.appId, info: j.trailsInfo };
  }

  /** A device: the TypeScript client with a TRAILS_INFO, registered; it answers "ping" and hangs on "hang". */
  async device(info: string, processInfo?: ProcessInfo): Promise<TrailsClient> {
    const c = TrailsClient.initWith(decodeTrailsInfo(info), { logger: silentLogger, shutdownFlushMs: 500, ...(processInfo ? { processInfo } : {}) });
    this.devices.push(c);
    c.on('ping', (p) => ({ pong: true, got: p }));
    c.on('hang', () => new Promise(() => {}));
    c.on('refuse', () => {
      throw new Error('not today');
    });
    await c.events.next('registered', () => true, 5_000);
    return c;
  }

  /** A child declared by `parentEnv` and started as a device. */
  async child(parentEnv: Env, name: string, processInfo?: ProcessInfo): Promise<{ appId: string; info: string; client: TrailsClient }> {
    const { appId, info } = await this.childInfo(parentEnv, ['--name', name]);
    return { appId, info, client: await this.device(info, processInfo) };
  }

  private gwStopped = false;

  /** Stops the gateway (once): what an outage looks like to the CLI. */
  async stopGateway(): Promise<void> {
    if (this.gwStopped) return;
    this.gwStopped = true;
    await this.gw.stop();
  }

  async stop(): Promise<void> {
    for (const d of this.devices.splice(0)) d.connection?.close();
    await this.agents.stopAll();
    await this.stopGateway();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function parseExports(text: string): Env {
  const env: Env = {};
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)='([^']*)'/g)) env[m[1]!] = m[2]!;
  return env;
}

export { until } from '../../support/until.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A local port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
