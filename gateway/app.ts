/**
 * The composition root: the one place that builds real adapters (SQLite,
 * clock, sockets, key files) and wires them together. Everything below takes
 * its dependencies as arguments.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import { EventBus } from './events.js';
import { loadServerIdentity } from './keys/server-key-ring.js';
import { loadOrCreateHouseholdKey } from './keys/household-key.js';
import { systemClock, type Clock } from './ports/clock.js';
import { DeviceHub } from './device/hub.js';
import { GroupCommitter } from './device/group-commit.js';
import { VerifyPool } from './crypto/verify-pool.js';
import { DeviceServer } from './device/ws-server.js';
import { ServerIdentity } from './device/server-identity.js';
import { buildHttp, type UpgradeHandler } from './http/server.js';
import type { SqliteStore } from './store/sqlite/sqlite-store.js';
import { DiskSpace } from './store/disk-space.js';
import { lockDataDir, type DataDirLock } from './startup/data-dir-lock.js';
import { checkPortFree, listenFailure } from './startup/port-check.js';
import { checkWritableDir, openGatewayStore, storeFailure } from './startup/open-store.js';
import { causeOf, StartupError } from './startup/errors.js';
import { KeyFileError } from './keys/key-file.js';
import type { GatewayStore } from './store/types.js';
import { loadOrCreateAdminKey } from './auth/admin-key.js';
import { RequestAuthenticator } from './auth/authenticator.js';
import type { Ed25519KeyPair } from './crypto/ed25519.js';
import { registerApi } from './api/plugin.js';
import { WatchServer } from './api/watch.js';
import { RefusalTally } from './audit/refusal-tally.js';
import { AuditRetention } from './audit/audit-retention.js';
import { DeviceRefusalAudit } from './audit/device-refusals.js';
import { ActivityLog } from './device/activity-log.js';

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
  /** Refusals of unauthenticated requests, counted until the interval ends (audit/refusal-tally.ts). */
  readonly refusals: RefusalTally;
  readonly auditRetention: AuditRetention;
  /** Free space of the data directory (healthz, and the reserve below which data is refused). */
  readonly space: DiskSpace;
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

/**
 * The start, in an order where a failure changes nothing: the data directory's
 * lock (a second gateway stops here), the key files, the port, then the
 * database; apps are marked reconnecting only once the port is bound. Every
 * failure the operator can act on is a StartupError of one line; whatever was
 * opened is closed again before it is thrown.
 */
export async function startGateway(config: GatewayConfig, overrides: GatewayOverrides = {}): Promise<RunningGateway> {
  const log = overrides.logger ?? pino({ level: config.logLevel, base: { svc: 'trailsd' } });
  const opened: Array<() => unknown> = [];
  try {
    return await start(config, overrides, log, opened);
  } catch (e) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch {
        // the start failed already; its own error is the one to report
      }
    }
    throw e instanceof KeyFileError ? new StartupError(e.message) : e;
  }
}

function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw new StartupError(`cannot create the data directory ${dir}: ${causeOf(e)}`);
  }
}

async function start(config: GatewayConfig, overrides: GatewayOverrides, log: Logger, opened: Array<() => unknown>): Promise<RunningGateway> {
  const clock = overrides.clock ?? systemClock;
  makeDataDir(config.dataDir);
  checkWritableDir(config.dataDir);
  const lock: DataDirLock = lockDataDir(config.dataDir);
  opened.push(() => lock.release());
  await checkPortFree(config.host, config.port);
  // server.key, and server.next.key when a rotation is scheduled (keys/server-key-ring.ts).
  const { identity, created, tightened } = loadServerIdentity(config.dataDir, () => clock.now());
  if (created) log.info({ serverPubKey: identity.publicKeyText }, 'created the gateway key');
  const admin = loadOrCreateAdminKey(config.dataDir);
  if (admin.created) log.info({ adminPubKey: admin.publicKeyText }, 'created the local admin key (admin.key)');
  // The registration gate's secret (device/join-gate.ts); kept in open mode too, so switching to gated needs no new tokens.
  const household = loadOrCreateHouseholdKey(config.dataDir);
  if (household.created) log.info('created the household key (household.key): join tokens derive from it');
  for (const t of [...tightened, ...(admin.tightenedFrom !== undefined ? [{ path: join(config.dataDir, 'admin.key'), mode: admin.tightenedFrom }] : [])]) {
    log.warn({ file: t.path, was: t.mode.toString(8) }, `key file ${t.path} was readable by others (mode ${t.mode.toString(8)}); set it to 0600`);
  }
  const tls = config.tlsCert && config.tlsKey ? { cert: readTlsFile(config.tlsCert), key: readTlsFile(config.tlsKey) } : undefined;

  const onStorageFatal =
    overrides.onStorageFatal ??
    ((err: Error) => {
      log.fatal({ err }, 'fsync of the database failed; exiting so that nothing unflushed is acknowledged');
      process.exit(75);
    });
  const dbPath = join(config.dataDir, 'trails.db');
  const store: SqliteStore = openGatewayStore(dbPath, { onFatal: onStorageFatal });
  opened.push(() => store.close());
  const space = new DiskSpace(config.dataDir, config.diskReserveBytes, (f) =>
    f.low_space
      ? log.warn({ free_bytes: f.free_bytes, reserve_bytes: f.reserve_bytes }, 'disk space of the data directory is below the reserve: new data is refused until space is freed')
      : log.info({ free_bytes: f.free_bytes }, 'disk space is above the reserve again: accepting data'),
  );
  const events = new EventBus((err) => log.error({ err }, 'event listener failed'));
  // 1024 writes at most per commit keeps each event-loop turn short under load
  // (new sockets are accepted between turns) while one fsync still covers many
  // frames; under load commits are 40 ms apart at least (group-commit.ts).
  // A storage outage (disk full, I/O error) is logged once when it begins and
  // once when it ends, with what it cost; devices were told storage_unavailable.
  const committer = new GroupCommitter(
    store,
    1024,
    (err) => log.error({ err: { message: err.message, code: (err as { code?: string }).code } }, 'commits are failing (storage); writes are refused, nothing unstored is acknowledged'),
    { intervalMs: 40, fromWrites: 64, clock },
    (o) => log.warn({ refused: o.refused, duration_ms: o.durationMs, cause: o.first.message }, `storage is back after ${Math.round(o.durationMs / 1000)} s; ${o.refused} writes were refused meanwhile`),
    (err) => log.error({ err }, 'a commit callback failed; the other writes of its commit were answered'),
  );
  const refusals = new RefusalTally(clock, (rows) => committer.enqueue((w) => rows.forEach((r) => w.insertAudit(r))), {
    intervalMs: config.refusalIntervalMs,
    maxEntries: config.refusalMaxEntries,
  });
  const deviceAudit = new DeviceRefusalAudit(clock, (row) => committer.enqueue((w) => w.insertAudit(row)), refusals, {
    intervalMs: config.refusalIntervalMs,
    maxEntries: config.refusalMaxEntries,
  });
  const verifier = config.verifyWorkers > 0 ? new VerifyPool(config.verifyWorkers) : undefined;
  if (verifier) opened.push(() => verifier.close());
  const hub = new DeviceHub({
    store,
    committer,
    ...(verifier ? { verifier } : {}),
    clock,
    events,
    identity,
    space,
    deviceAudit,
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
      maxAppsPerConnection: config.maxAppsPerConnection,
      bootstrapMaxAwaiting: config.bootstrapMaxAwaiting,
      bootstrapGlobalPerMinute: config.bootstrapGlobalPerMinute,
      bootstrapRetentionMs: config.bootstrapRetentionMs,
      registration: config.registration,
      householdKey: household.secret,
    },
  });
  // Devices connecting, registering, crashing, claimed, cancelled: one info line each, summarised under load.
  const activity = new ActivityLog(clock, (level, line, fields) => log[level](fields, line), (id) => store.getApp(id));
  events.subscribe((e) => activity.onEvent(e));
  let ready = false;
  // 5 ms slices: under full load a turn then lasts a few milliseconds, so new
  // connections (one accepted per turn) keep coming in (turn-slicer.ts).
  const devices = new DeviceServer(hub, {
    maxPayload: config.maxFrameBytes,
    heartbeatMs: config.heartbeatMs,
    maxConnections: config.maxConnections,
    maxPerAddress: config.maxConnectionsPerAddress,
    maxUnregisteredPerAddress: config.maxUnregisteredPerAddress,
    sliceMs: 5,
    onAccept: (remote) => activity.connected(remote),
  });
  const health = (): Record<string, unknown> => ({ connections: devices.size, live_apps: hub.stats.liveApps, server_pub_key: identity.publicKeyText, disk: space.state });
  const { app: http, upgrades } = buildHttp({
    logger: log,
    ...(tls ? { tls } : {}),
    ready: () => ready && !hub.isStopping,
    health,
  });
  upgrades.set('/ws', (req, socket, head) => devices.handleUpgrade(req, socket, head));
  const auth = new RequestAuthenticator({
    store,
    committer,
    clock,
    adminKey: admin.publicKeyText,
    statusOf: (id) => hub.liveApp(id)?.status ?? store.getApp(id)?.status,
  });
  const auditRetention = new AuditRetention(clock, (op, done) => committer.enqueue(op, done), {
    maxAgeMs: config.auditRetentionMs,
    maxRows: config.auditMaxRows,
    everyMs: 60_000,
    batch: 1000,
  });
  const api = await registerApi(http, { hub, store, auth, refusals, health, onInternalError: (err, req) => log.error({ err, url: req.url }, 'API request failed') });
  const watch = new WatchServer(api, auth, events, {
    statusWindowMs: config.watchStatusWindowMs,
    maxWatchers: config.maxWatchers,
    maxWatchersPerAddress: config.maxWatchersPerAddress,
  });
  upgrades.set('/api/v1/watch', (req, socket, head) => watch.handleUpgrade(req, socket, head));

  // A deep accept queue: after a restart every device reconnects at once, and
  // Node accepts one connection per event-loop turn (backoff and jitter spread them).
  try {
    await http.listen({ host: config.host, port: config.port, backlog: 4096 });
  } catch (e) {
    throw listenFailure(config.host, config.port, e);
  }
  opened.push(() => http.close());
  // Bound: only now the restart half of spec §19 rewrites live apps to
  // reconnecting (a start that failed above left them as they were).
  try {
    hub.start();
  } catch (e) {
    throw storeFailure(dbPath, e);
  }
  auth.start();
  auditRetention.start();
  activity.start();
  space.start(clock, 5000);
  const port = (http.server.address() as { port: number }).port;
  ready = true;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Where this gateway listens, for the CLI on the box when no --server is given (cli/settings.ts LISTEN_FILE).
  writeFileSync(join(config.dataDir, 'listen'), `${url}\n`, { mode: 0o600 });
  log.info({ url, dataDir: config.dataDir, serverPubKey: identity.publicKeyText }, 'gateway ready');

  const stop = async (): Promise<void> => {
    hub.stop();
    auth.stop();
    auditRetention.stop();
    activity.stop();
    space.stop();
    watch.close();
    devices.close();
    await http.close();
    await verifier?.close();
    // What was counted is written before the store closes.
    refusals.close();
    committer.flush();
    store.close();
    lock.release();
  };
  return { config, http, upgrades, hub, store, events, identity, devices, admin: { pair: admin.pair, publicKeyText: admin.publicKeyText }, watch, refusals, auditRetention, space, log, port, url, wsUrl: `${url.replace(/^http/, 'ws')}/ws`, stop };
}

function readTlsFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new StartupError(`cannot read TLS file ${path}: ${causeOf(e)}`);
  }
}
