/**
 * One in-process gateway on a temp data dir that can be stopped and started
 * again on the same dir and port, as a restart of the real daemon would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../gateway/app.js';
import { defaultConfig, type GatewayConfig } from '../../gateway/config.js';
import type { JsonValue } from '../../protocol/frames.js';
import type { ConformanceTarget, ControlRequest } from './runner.js';

export class GatewayHarness {
  private config: GatewayConfig | undefined;
  private running: RunningGateway | undefined;

  /** Made at the first start, so that a skipped suite leaves nothing behind. */
  get dataDir(): string {
    if (!this.config) throw new Error('the gateway was never started');
    return this.config.dataDir;
  }

  get gw(): RunningGateway {
    if (!this.running) throw new Error('the gateway is not running');
    return this.running;
  }

  get dbPath(): string {
    return join(this.dataDir, 'trails.db');
  }

  /** Starts the gateway; after the first start, always on the same port. */
  async start(): Promise<RunningGateway> {
    if (this.running) throw new Error('the gateway is already running');
    this.config ??= {
      ...defaultConfig(),
      dataDir: mkdtempSync(join(tmpdir(), 'trails-gw-')),
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      reconnectWindowMs: 60_000,
      // The reference scenarios register undeclared apps unsigned, as the reference server allows.
      registration: 'open',
    };
    this.running = await startGateway(this.config);
    this.config.port = this.running.port;
    return this.running;
  }

  /** A graceful stop: live apps become reconnecting at the next start. */
  async stop(): Promise<void> {
    const gw = this.running;
    this.running = undefined;
    await gw?.stop();
  }

  async restart(): Promise<RunningGateway> {
    await this.stop();
    return this.start();
  }

  /** Stops the gateway and removes its data dir. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.config) rmSync(this.config.dataDir, { recursive: true, force: true });
  }

  /** The runner's view: socket, database, and the two in-process hooks. */
  target(): ConformanceTarget {
    return {
      wsUrl: this.gw.wsUrl,
      dbPath: this.dbPath,
      serverPubKey: this.gw.identity.publicKeyText,
      restart: async () => void (await this.restart()),
      sendControl: (req: ControlRequest) => {
        const { correlationId, done } = this.gw.hub.controls.send({
          appId: req.appId,
          action: req.action,
          origin: 'conformance',
          ...(req.payload !== undefined ? { payload: req.payload as JsonValue } : {}),
          ...(req.ttlMs !== undefined ? { ttlMs: req.ttlMs } : {}),
        });
        return { correlationId, done };
      },
    };
  }
}
