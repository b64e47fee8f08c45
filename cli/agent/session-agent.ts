/**
 * The session agent: what keeps a registered shell alive as a TRAILS node.
 *
 * A shell is not one process: `trails register`, `trails status` and
 * `trails result` are separate runs, and a registration lives exactly as
 * long as its WebSocket (a dropped socket is a crash, spec §7). So
 * `trails register` starts this agent, which holds the app's identity in a
 * TrailsClient (one seq counter, one outbox, controls answered) and serves
 * the data-path commands over a Unix socket. It lives as long as the shell:
 * once the app has ended (Result/Error acked, shutdown confirmed, cancelled)
 * it releases the connection but goes on answering ("already ended"), so a
 * `trails shutdown` after `trails result` is the no-op it should be. When the
 * shell goes away before the app ended, it drops the connection so the
 * gateway records the crash the shell really had.
 */
import { timingSafeEqual } from 'node:crypto';
import { TrailsClient } from '../../client/client.js';
import { silentLogger, type TrailsLogger } from '../../client/log.js';
import { wsTransport } from '../../client/transport.js';
import { cliCrypto } from '../crypto.js';
import type { JsonValue } from '../../protocol/frames.js';
import { CliError } from '../errors.js';
import { LineServer } from './line-server.js';
import { LingerTransport } from './linger-transport.js';
import type { AgentReply, AgentRequest, AgentSpec } from './protocol.js';

export interface AgentOptions {
  logger?: TrailsLogger;
  /** How long registration may take before start() fails (default 15 s). */
  registerTimeoutMs?: number;
  /** How long a disconnect waits for the gateway's close (default 5 s). */
  lingerMs?: number;
}

export class SessionAgent {
  readonly appId: string;
  /** Resolves with the reason once the agent has stopped serving. */
  readonly stopped: Promise<string>;
  /** Resolves with how the app ended (the agent still answers afterwards). */
  readonly ended: Promise<string>;
  private client: TrailsClient | null = null;
  private readonly server: LineServer;
  private readonly transport: LingerTransport;
  private readonly log: TrailsLogger;
  private readonly seed: Buffer;
  private queue: Promise<unknown> = Promise.resolve();
  private lastError: string | null = null;
  private stopping: Promise<void> | null = null;
  private resolveStopped!: (why: string) => void;
  private resolveEnded!: (how: string) => void;
  /** How the app ended, once it has. */
  private endedHow: string | null = null;
  /** What the last of our own requests did, for the end message. */
  private pendingEnd: string | null = null;

  constructor(
    private readonly spec: AgentSpec,
    private readonly opts: AgentOptions = {},
  ) {
    this.appId = spec.config.appId;
    this.log = opts.logger ?? silentLogger;
    this.seed = Buffer.from(spec.seed, 'base64');
    this.transport = new LingerTransport(wsTransport(), opts.lingerMs ?? 5_000);
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.server = new LineServer(spec.socketPath, (req) => this.handle(req as AgentRequest));
  }

  /** Registers the app, then listens. Rejects with a message saying why registration failed. */
  async start(): Promise<{ lastSeq: number }> {
    await LineServer.claim(this.spec.socketPath, `a session agent for app ${this.appId}`);
    const client = TrailsClient.initWith(this.spec.config, {
      keyPair: cliCrypto.ed25519.keyPairFromSeed(new Uint8Array(this.seed)),
      transport: this.transport,
      processInfo: this.spec.processInfo,
      logger: this.log,
      shutdownFlushMs: 2_000,
    });
    this.client = client;
    client.events.on('error', (e) => {
      this.lastError = `${e.code}: ${e.message}`;
      this.log.warn('gateway error', { code: e.code, message: e.message, seq: e.seq });
    });
    client.events.on('control', (e) => this.log.info(`control ${e.action}: ${e.outcome}`, { correlationId: e.correlationId }));
    let lastSeq: number;
    try {
      lastSeq = await this.registered(client, this.opts.registerTimeoutMs ?? 15_000);
    } catch (err) {
      client.connection?.close();
      this.finishStop('registration failed');
      throw err;
    }
    client.events.on('control', (e) => {
      if (e.action === 'cancel' && e.outcome === 'answered') this.pendingEnd ??= `cancelled: ${describePayload(e.payload)}`;
    });
    client.events.on('state', (e) => {
      if (e.state !== 'finished' && e.state !== 'failed') return;
      this.endedHow = e.state === 'failed' ? `refused by the gateway${this.lastError ? ` (${this.lastError})` : ''}` : (this.pendingEnd ?? 'ended by the gateway');
      this.log.info(`app ended: ${this.endedHow}`, { appId: this.appId });
      this.resolveEnded(this.endedHow);
    });
    await this.server.listen();
    this.log.info('serving', { appId: this.appId, socket: this.spec.socketPath });
    return { lastSeq };
  }

  /**
   * Stops serving. An app that has not ended is abandoned: its socket is
   * dropped without disconnect, so the gateway marks it crashed (what the
   * death of the shell that registered it means).
   */
  stop(why: string): Promise<void> {
    this.stopping ??= (async () => {
      const c = this.client;
      const ended = c !== null && (c.state === 'finished' || c.state === 'failed');
      if (c && !ended) c.connection?.close();
      const confirm = this.transport.disconnectConfirmed;
      if (ended && confirm) await Promise.race([confirm, delay((this.opts.lingerMs ?? 5_000) + 500)]);
      await this.server.close();
      this.finishStop(why);
    })();
    return this.stopping;
  }

  // ── requests ──────────────────────────────────────────────────────

  private handle(req: AgentRequest): Promise<AgentReply> {
    if (typeof req !== 'object' || req === null || !this.keyMatches(req.key)) return Promise.resolve(fail('forbidden', 'TRAILS_APP_KEY is not the key of this app'));
    // One at a time: each report expects the next seq, and shutdown must come after them.
    const run = this.queue.then(() => this.dispatch(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async dispatch(req: AgentRequest): Promise<AgentReply> {
    const c = this.client!;
    if (req.op === 'ping') return { ok: true, appId: this.appId, seq: c.seq, state: c.state };
    if (this.endedHow !== null) {
      // shutdown of an app that already ended is what it asked for; anything else is too late.
      if (req.op === 'shutdown') return { ok: true, appId: this.appId, seq: c.seq, state: c.state, already: this.endedHow };
      return fail('app_ended', `app ${this.appId} has already ended (${this.endedHow}); it takes no more messages`);
    }
    if (req.op === 'report' && ['Status', 'Result', 'Error'].includes(req.msgType)) return this.report(c, req.msgType, req.payload ?? null, clampMs(req.timeoutMs));
    if (req.op === 'shutdown') return this.shutdown(c, String(req.reason ?? 'completed'), clampMs(req.timeoutMs));
    return fail('bad_request', 'unknown request');
  }

  private report(c: TrailsClient, msgType: 'Status' | 'Result' | 'Error', payload: JsonValue, timeoutMs: number): Promise<AgentReply> {
    const expected = c.seq + 1;
    return new Promise((resolve) => {
      let refusal: string | undefined;
      const offs: Array<() => void> = [];
      const done = (r: AgentReply): void => {
        clearTimeout(timer);
        for (const off of offs) off();
        if (!r.ok && msgType !== 'Status') this.pendingEnd = null;
        resolve(r);
      };
      const timer = setTimeout(() => {
        const where = c.isConnected ? 'connected, no ack yet' : 'not connected to the gateway';
        done(fail('not_acked', `${msgType} #${expected} was not acknowledged within ${secs(timeoutMs)} (${where}); the session agent keeps it queued`));
      }, timeoutMs);
      if (msgType !== 'Status') this.pendingEnd = `${msgType} #${expected} stored`;
      offs.push(c.events.on('ack', (e) => e.seq === expected && done({ ok: true, appId: this.appId, seq: expected, state: c.state, duplicate: e.duplicate })));
      offs.push(c.events.on('error', (e) => void (e.seq === expected && (refusal = `${e.code}: ${e.message}`))));
      offs.push(c.events.on('dropped', (e) => (e.seq === expected || e.seq === null) && done(fail('refused', `${msgType} was not accepted: ${refusal ?? e.reason}`))));
      if (msgType === 'Status') c.status(payload);
      else if (msgType === 'Result') c.result(payload);
      else {
        const p = (payload ?? {}) as { message?: unknown; detail?: unknown };
        c.error(String(p.message ?? ''), p.detail ?? undefined);
      }
    });
  }

  private async shutdown(c: TrailsClient, reason: string, timeoutMs: number): Promise<AgentReply> {
    const seq = c.seq;
    const wasReady = c.isConnected;
    this.pendingEnd = `disconnected (${reason})`;
    await c.shutdown({ reason, flushMs: Math.max(0, timeoutMs - (this.opts.lingerMs ?? 5_000)) });
    const confirm = this.transport.disconnectConfirmed;
    const ok = confirm ? await Promise.race([confirm, delay((this.opts.lingerMs ?? 5_000) + 500).then(() => false)]) : false;
    if (ok) return { ok: true, appId: this.appId, seq, state: c.state };
    const why = !wasReady && !confirm ? 'the gateway could not be reached' : 'the gateway did not confirm it';
    return fail('not_confirmed', `disconnect (${reason}) of app ${this.appId} failed: ${why}${this.lastError ? ` (last gateway error ${this.lastError})` : ''}`);
  }

  // ── plumbing ──────────────────────────────────────────────────────

  private registered(c: TrailsClient, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const offs: Array<() => void> = [];
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        for (const off of offs) off();
        fn();
      };
      const timer = setTimeout(
        () => done(() => reject(new CliError(this.lastError ? `the gateway refused app ${this.appId}: ${this.lastError}` : `no registration answer from ${c.connection?.url ?? 'the gateway'} within ${secs(timeoutMs)}`))),
        timeoutMs,
      );
      offs.push(c.events.on('registered', (e) => done(() => resolve(e.lastSeq))));
      offs.push(
        c.events.on('state', (e) => {
          if (e.state === 'failed' || e.state === 'finished') done(() => reject(new CliError(`the gateway refused app ${this.appId}: ${this.lastError ?? e.state}`)));
        }),
      );
    });
  }

  private keyMatches(key: unknown): boolean {
    if (typeof key !== 'string') return false;
    const given = Buffer.from(key, 'base64');
    return given.length === this.seed.length && timingSafeEqual(given, this.seed);
  }

  private finishStop(why: string): void {
    this.log.info('stopped', { appId: this.appId, why });
    this.resolveStopped(why);
  }
}

/** A request's timeout, within 0.1 s … 1 h. */
function clampMs(ms: unknown): number {
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.min(3_600_000, Math.max(100, ms)) : 10_000;
}

function describePayload(p: JsonValue): string {
  const reason = p !== null && typeof p === 'object' && !Array.isArray(p) ? p.reason : undefined;
  return typeof reason === 'string' ? reason : 'by a control';
}

function fail(code: string, message: string): AgentReply {
  return { ok: false, code, message };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function secs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
