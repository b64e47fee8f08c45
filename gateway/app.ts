/**
 * The composition root: the one place that builds real adapters (SQLite,
 * clock, sockets, key files) and wires them together. Everything below takes
 * its dependencies as arguments.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import { EventBus } from './events.js';
import { loadServerIdentity } from './keys/server-key-ring.js';
import { systemClock, type Clock } from './ports/clock.js';
import { DeviceHub } from './device/hub.js';
import { GroupCommitter } from './device/group-commit.js';
import { VerifyPool } from './crypto/verify-pool.js';
import { DeviceServer } from './device/ws-server.js';
import { ServerIdentity } from './device/server-identity.js';
import { buildHttp, type UpgradeHandler } from './http/server.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { GatewayStore } from './store/types.js';
import { loadOrCreateAdminKey } from './auth/admin-key.js';
import { RequestAuthenticator } from './auth/authenticator.js';
import type { Ed25519KeyPair } from './crypto/ed25519.js';
import { registerApi } from './api/plugin.js';
import { WatchServer } from './api/watch.js';

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly http: FastifyInstance;
  readonly upgrades: Map<string, UpgradeHandler>;
  readonly hub: DeviceHub;
  readonly store: GatewayStore;
  readonly events: EventBus;
  readonly identity: ServerIdentity;
  readonly devices: DeviceServer;
  /** The local admin key (data dir admin.key): what the CLI on this box signs API requests with. */
  readonly admin: { pair: Ed25519KeyPair; publicKeyText: string };
  readonly watch: WatchServer;
  readonly log: Logger;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** http(s)://host:port and ws(s)://host:port/ws, with loopback for 0.0.0.0. */
  readonly url: string;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

export interface GatewayOverrides {
  clock?: Clock;
  logger?: Logger;
  /**
   * A failed fsync. The kernel may have dropped the pages it could not write,
   * so the process exits (systemd restarts it and SQLite recovers from what is
   * really on disk) rather than go on promising durability; tests override it.
   */
  onStorageFatal?: (err: Error) => void;
}

export async function startGateway(config: GatewayConfig, overrides: GatewayOverrides = {}): Promise<RunningGateway> {
  const log = overrides.logger ?? pino({ level: config.logLevel, base: { svc: 'trailsd' } });
  const clock = overrides.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // server.key, and server.next.key when a rotation is scheduled (keys/server-key-ring.ts).
  const { identity, created } = loadServerIdentity(config.dataDir, () => clock.now());
  if (created) log.info({ serverPubKey: identity.publicKeyText }, 'created the gateway key');
  const admin = loadOrCreateAdminKey(config.dataDir);
  if (admin.created) log.info({ adminPubKey: admin.publicKeyText }, 'created the local admin key (admin.key)');

  const onStorageFatal =
    overrides.onStorageFatal ??
    ((err: Error) => {
      log.fatal({ err }, 'fsync of the database failed; exiting so that nothing unflushed is acknowledged');
      process.exit(75);
    });
  const store = openSqliteStore(join(config.dataDir, 'trails.db'), { onFatal: onStorageFatal });
  const events = new EventBus((err) => log.error({ err }, 'event listener failed'));
  // 1024 writes at most per commit keeps each event-loop turn short under load
  // (new sockets are accepted between turns) while one fsync still covers many
  // frames; under load commits are 40 ms apart at least (group-commit.ts).
  const committer = new GroupCommitter(store, 1024, (err) => log.error({ err }, 'commit failed; nothing in it was acknowledged'), {
    intervalMs: 40,
    fromWrites: 64,
    clock,
  }, (err) => log.error({ err }, 'a commit callback failed; the other writes of its commit were answered'));
  const verifier = config.verifyWorkers > 0 ? new VerifyPool(config.verifyWorkers) : undefined;
  const hub = new DeviceHub({
    store,
    committer,
    ...(verifier ? { verifier } : {}),
    clock,
    events,
    identity,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
    options: {
      serverInstance: config.serverInstance,
      rate: config.rate,
      burst: config.burst,
      reconnectWindowMs: config.reconnectWindowMs,
      registrationTimeoutMs: config.registrationTimeoutMs,
      snapshotRetention: config.snapshotRetention,
      controlTtlMs: config.controlTtlMs,
      minSecLevel: config.minSecLevel,
      bootstrapTtlMs: config.bootstrapTtlMs,
      bootstrapPerMinute: config.bootstrapPerMinute,
      bootstrapBurst: config.bootstrapBurst,
    },
  });
  let ready = false;
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  // 5 ms slices: under full load a turn then lasts a few milliseconds, so new
  // connections (one accepted per turn) keep coming in (turn-slicer.ts).
  const devices = new DeviceServer(hub, { maxPayload: config.maxFrameBytes, heartbeatMs: config.heartbeatMs, maxConnections: config.maxConnections, sliceMs: 5 });
  const { app: http, upgrades } = buildHttp({
    logger: log,
    ...(tls ? { tls } : {}),
    ready: () => ready && !hub.isStopping,
    health: () => ({ connections: devices.size, live_apps: hub.stats.liveApps, server_pub_key: identity.publicKeyText }),
  });
  upgrades.set('/ws', (req, socket, head) => devices.handleUpgrade(req, socket, head));
  const auth = new RequestAuthenticator({
    store,
    committer,
    clock,
    adminKey: admin.publicKeyText,
    statusOf: (id) => hub.liveApp(id)?.status ?? store.getApp(id)?.status,
  });
  const api = await registerApi(http, { hub, store, auth, onInternalError: (err, req) => log.error({ err, url: req.url }, 'API request failed') });
  const watch = new WatchServer(api, auth, events, { statusWindowMs: config.watchStatusWindowMs });
  upgrades.set('/api/v1/watch', (req, socket, head) => watch.handleUpgrade(req, socket, head));

  hub.start();
  auth.start();
  // A deep accept queue: after a restart every device reconnects at once, and
  // Node accepts one connection per event-loop turn (backoff and jitter spread them).
  await http.listen({ host: config.host, port: config.port, backlog: 4096 });
  const port = (http.server.address() as { port: number }).port;
  ready = true;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, dataDir: config.dataDir, serverPubKey: identity.publicKeyText }, 'gateway ready');

  const stop = async (): Promise<void> => {
    hub.stop();
    auth.stop();
    watch.close();
    devices.close();
    await http.close();
    await verifier?.close();
    committer.flush();
    store.close();
  };
  return { config, http, upgrades, hub, store, events, identity, devices, admin: { pair: admin.pair, publicKeyText: admin.publicKeyText }, watch, log, port, url, wsUrl: `${url.replace(/^http/, 'ws')}/ws`, stop };
}
