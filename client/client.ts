/**
 * TrailsClient: the device API of spec §24. Two lines to integrate:
 *
 *   const trails = TrailsClient.init();          // reads TRAILS_INFO
 *   trails.status({ phase: 'scan', progress: 0.5 });
 *
 * Without TRAILS_INFO (or with one that does not decode) init() returns a
 * no-op client, so apps can call it unconditionally. status/result/error
 * never block and never throw: they queue, and the outbox delivers in the
 * background across reconnects. flush()/shutdown() are the only awaits.
 */
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import { clientCrypto } from './crypto.js';
import type { JsonValue, MsgType, ProcessInfo } from '../protocol/frames.js';
import { decodePublicKey } from '../protocol/keys.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { childConfig, decodeTrailsInfo, validateConfig, type ChildOptions, type TrailsConfig } from './config.js';
import { TrailsConnection } from './connection.js';
import { ControlDispatcher, toJson, type CancelHook, type ControlHandler, type SystemActionHook } from './controls.js';
import { TypedEmitter, type ClientEvents, type ClientState } from './events.js';
import { consoleLogger, safeLogger, type TrailsLogger } from './log.js';
import { currentProcessInfo } from './process-info.js';
import { Session } from './session.js';
import type { OutboxEntry } from './outbox.js';
import { wsTransport, type Transport } from './transport.js';
import { SealedLink } from './sealed-link.js';
import { TrailsConfigError } from './config.js';

export interface ClientOptions {
  /** The identity's key; a fresh ephemeral one by default (spec §6: it lives and dies with the process). */
  keyPair?: Ed25519KeyPair;
  /** Share one socket among several identities (spec §18). Default: a connection of its own. */
  connection?: TrailsConnection;
  /** Socket implementation for a connection of its own (default: ws). */
  transport?: Transport;
  /** [0, 1) like Math.random, for backoff jitter. */
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  logger?: TrailsLogger;
  /** Messages kept while unacked (default 10,000); the oldest Status goes first when full. */
  outboxCapacity?: number;
  /** Frames/s this client's own connection sends at most (default 500, burst 500; null = unpaced). */
  rate?: { perSecond: number; burst: number } | null;
  /** Messages sent and not yet acked at once (default 128; kept below the gateway's 200 consecutive drops). */
  window?: number;
  /** Largest frame the gateway accepts (its --max-frame, default 65,536 bytes). */
  maxFrameBytes?: number;
  /** How long shutdown() waits for acks before it disconnects (default 2,000 ms). */
  shutdownFlushMs?: number;
  processInfo?: ProcessInfo;
  now?: () => number;
  /** Device lifecycle (client/bootstrap.ts): seq continuity across sessions, resume, gateway key rotation, system actions. */
  lifecycle?: {
    startSeq?: number;
    resume?: boolean;
    verifyServer?: (f: object) => boolean;
    system?: SystemActionHook;
  };
}

export interface ShutdownOptions {
  /** disconnect reason (default 'completed'; 'error' or 'failed' make the app end in error). */
  reason?: string;
  flushMs?: number;
}

interface Core {
  config: TrailsConfig;
  session: Session;
  controls: ControlDispatcher;
  connection: TrailsConnection;
  ownsConnection: boolean;
  log: TrailsLogger;
  shutdownFlushMs: number;
}

export class TrailsClient {
  readonly events = new TypedEmitter<ClientEvents>();
  private core: Core | null = null;
  private closing: Promise<void> | null = null;

  private constructor() {}

  /** From TRAILS_INFO; a no-op client when it is absent or does not decode (the reason is logged). */
  static init(env: NodeJS.ProcessEnv = process.env, options: ClientOptions = {}): TrailsClient {
    const info = env.TRAILS_INFO;
    if (info === undefined || info.trim() === '') return TrailsClient.noop();
    let config: TrailsConfig;
    try {
      config = decodeTrailsInfo(info);
    } catch (err) {
      safeLogger(options.logger ?? consoleLogger).warn(`TRAILS_INFO ignored, running without TRAILS: ${(err as Error).message}`);
      return TrailsClient.noop();
    }
    return TrailsClient.initWith(config, options);
  }

  /** From an explicit config; starts connecting at once. Throws TrailsConfigError for an invalid config. */
  static initWith(config: TrailsConfig, options: ClientOptions = {}): TrailsClient {
    const cfg = validateConfig(config);
    const log = safeLogger(options.logger ?? consoleLogger);
    const client = new TrailsClient();
    const ownsConnection = options.connection === undefined;
    const keyPair = options.keyPair ?? clientCrypto.ed25519.generateKeyPair();
    const sealed = cfg.secLevel === 'encrypted' ? sealedLinkFor(cfg, keyPair, log, options) : undefined;
    const transport = sealed ? sealed.wrap(options.transport ?? wsTransport()) : options.transport;
    const connection =
      options.connection ??
      new TrailsConnection(cfg.serverEp, {
        ...(transport ? { transport } : {}),
        ...(options.random ? { random: options.random } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.rate !== undefined ? { rate: options.rate } : {}),
        logger: log,
      });
    const now = options.now ?? Date.now;
    let controls: ControlDispatcher | null = null;
    const serverKeyRaw = cfg.serverPubKey ? decodePublicKey(cfg.serverPubKey) : undefined;
    const serverKey = serverKeyRaw ? clientCrypto.ed25519.verifyingKey(serverKeyRaw) : null;
    const session = new Session({
      config: cfg,
      keyPair,
      connection,
      ...(sealed ? { sealed } : {}),
      events: client.events,
      log,
      random: options.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      outboxCapacity: options.outboxCapacity ?? 10_000,
      window: Math.max(1, options.window ?? 128),
      maxFrameBytes: options.maxFrameBytes ?? 65_536,
      processInfo: options.processInfo ?? currentProcessInfo(),
      now,
      onControl: (f) => controls?.handle(f),
      serverKey,
      startSeq: options.lifecycle?.startSeq,
      resume: options.lifecycle?.resume,
      verifyServer: options.lifecycle?.verifyServer,
    });
    controls = new ControlDispatcher({
      session,
      events: client.events,
      log,
      serverKey,
      requireSignature: cfg.secLevel !== 'open',
      now,
      onCancelled: () => client.endCancelled(),
      verify: options.lifecycle?.verifyServer,
      system: options.lifecycle?.system,
    });
    client.core = { config: cfg, session, controls, connection, ownsConnection, log, shutdownFlushMs: options.shutdownFlushMs ?? 2_000 };
    session.start();
    return client;
  }

  /** A client that does nothing: what init() returns without TRAILS_INFO. */
  static noop(): TrailsClient {
    return new TrailsClient();
  }

  // ── facts ─────────────────────────────────────────────────────────

  get isActive(): boolean {
    return this.core !== null;
  }

  get appId(): string | null {
    return this.core?.config.appId ?? null;
  }

  get config(): TrailsConfig | null {
    return this.core ? { ...this.core.config } : null;
  }

  /** "ed25519:" + base64 of this identity's public key. */
  get publicKey(): string | null {
    return this.core?.session.publicKeyText ?? null;
  }

  get state(): ClientState {
    return this.core?.session.state ?? 'inactive';
  }

  /** Registered on an open socket. */
  get isConnected(): boolean {
    return this.core?.session.isReady ?? false;
  }

  /** The last seq given to a message (0 = none yet). */
  get seq(): number {
    return this.core?.session.seq ?? 0;
  }

  /** Messages queued and not yet acked. */
  get pendingCount(): number {
    return this.core?.session.outbox.size ?? 0;
  }

  get connection(): TrailsConnection | null {
    return this.core?.connection ?? null;
  }

  // ── data path ─────────────────────────────────────────────────────

  /**
   * Queues a Status. True when it was queued (or on a no-op client); false
   * when it was refused: not JSON, too large, or the app has already ended
   * (said once in the log, and a 'dropped' event each time).
   */
  status(payload: unknown): boolean {
    return this.send('Status', payload);
  }

  /** The app's result; it ends the app once stored. False when refused, as status(). */
  result(payload: unknown): boolean {
    return this.send('Result', payload);
  }

  /** The app failed; it ends the app once stored. Payload: {message, detail}. False when refused, as status(). */
  error(msg: string, detail?: unknown): boolean {
    return this.send('Error', { message: String(msg), detail: detail === undefined ? null : detail });
  }

  /** Resolves true once every queued message is acked, false after `timeoutMs`. */
  flush(timeoutMs = 5_000): Promise<boolean> {
    return this.core ? this.core.session.whenDrained(timeoutMs) : Promise.resolve(true);
  }

  // ── control path ──────────────────────────────────────────────────

  /** Handles a control action; the returned (or awaited) value is the JSON result. A throw answers ack:false. */
  on(action: string, handler: ControlHandler): this {
    this.core?.controls.on(action, handler);
    return this;
  }

  off(action: string): this {
    this.core?.controls.off(action);
    return this;
  }

  /** Runs on a 'cancel' control, for at most `graceMs`; then the client answers and disconnects 'cancelled'. */
  onCancel(graceMs: number, hook: CancelHook): this {
    this.core?.controls.onCancel(graceMs, hook);
    return this;
  }

  // ── lifecycle ─────────────────────────────────────────────────────

  /** Config for a child process: new appId, this app as parent, same gateway and tier. Null on a no-op client. */
  createChild(name: string, opts: ChildOptions = {}): TrailsConfig | null {
    return this.core ? childConfig(this.core.config, name, opts) : null;
  }

  /**
   * Leaves the gateway without a disconnect: the app is not over, it moves
   * (migrate, provision; client/bootstrap.ts), so the gateway must not mark it
   * done. Messages still unacked are dropped ('dropped' events).
   */
  /** As abandon, but hands back the unacked messages (frames as sent) for the client that takes the app over. */
  handOver(why = 'moved'): OutboxEntry[] {
    const core = this.core;
    if (!core) return [];
    const left = core.session.handOver(why);
    if (core.ownsConnection) core.connection.close();
    return left;
  }

  /** Queues messages handed over by another client of the same app (a move between gateways); they go first. */
  adopt(entries: readonly OutboxEntry[]): void {
    this.core?.session.adopt(entries);
  }

  abandon(why = 'left the gateway'): void {
    const core = this.core;
    if (!core) return;
    core.session.end('finished', why);
    if (core.ownsConnection) core.connection.close();
  }

  /** Flushes briefly, sends disconnect, and releases the socket (closed unless other identities use it). */
  shutdown(opts: ShutdownOptions = {}): Promise<void> {
    this.closing ??= this.doShutdown(opts).catch((err) => this.core?.log.error('shutdown failed', { err: String(err) }));
    return this.closing;
  }

  private async doShutdown(opts: ShutdownOptions): Promise<void> {
    const core = this.core;
    if (!core) return;
    const { session } = core;
    if (!session.ended) {
      await session.whenDrained(opts.flushMs ?? core.shutdownFlushMs, true);
      // A stored Result/Error has already ended the app (the session is finished then).
      if (!session.ended) session.disconnect(opts.reason ?? 'completed');
    }
    if (core.ownsConnection) core.connection.close();
  }

  /** A cancel was answered: let messages the hook sent go out, then end with disconnect 'cancelled'. */
  private async endCancelled(): Promise<void> {
    const core = this.core;
    if (!core) return;
    await core.session.whenDrained(1_000);
    if (!core.session.ended) core.session.disconnect('cancelled');
    if (core.ownsConnection) core.connection.close();
  }

  private send(msgType: MsgType, payload: unknown): boolean {
    const core = this.core;
    if (!core) return true;
    try {
      let json: JsonValue;
      try {
        json = toJson(payload);
      } catch (err) {
        core.log.warn(`${msgType} payload is not JSON; dropped: ${(err as Error).message}`, { appId: core.config.appId });
        this.events.emit('dropped', { appId: core.config.appId, seq: null, msgType, reason: `payload is not JSON: ${(err as Error).message}` });
        return false;
      }
      return core.session.enqueue(msgType, json);
    } catch (err) {
      // Last line of defence: telemetry must never take the app down.
      core.log.error(`${msgType} failed`, { err: String(err) });
      return false;
    }
  }
}

/** The encrypted tier needs the pinned gateway key and a socket of its own (binary frames name no app). */
function sealedLinkFor(cfg: TrailsConfig, keyPair: Ed25519KeyPair, log: TrailsLogger, options: ClientOptions): SealedLink {
  if (options.connection) throw new TrailsConfigError('secLevel', 'an encrypted-tier client needs its own connection; do not pass a shared one');
  const serverPublicKey = decodePublicKey(cfg.serverPubKey);
  if (!serverPublicKey) throw new TrailsConfigError('serverPubKey', 'the encrypted tier needs serverPubKey');
  return new SealedLink({ appId: cfg.appId, identitySeed: keyPair.secretKey, serverPublicKey, log });
}
