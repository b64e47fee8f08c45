/**
 * Configuration, layered: defaults → environment (TRAILS_*) → command-line
 * flags. Every value is checked here, with an error that names the setting,
 * so a typo stops the gateway at start instead of surprising it later.
 */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import type { SecLevel } from '../protocol/frames.js';
import { SEC_LEVELS } from '../protocol/frames.js';
import { REGISTRATION_MODES, type RegistrationMode } from './device/join-gate.js';

export interface GatewayConfig {
  dataDir: string;
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  maxFrameBytes: number;
  maxConnections: number;
  rate: number;
  burst: number;
  reconnectWindowMs: number;
  registrationTimeoutMs: number;
  heartbeatMs: number;
  snapshotRetention: number;
  controlTtlMs: number;
  /** Status events of subtree-wide watches wait this long; a newer Status of an app supersedes a waiting one (0 = every Status at once). */
  watchStatusWindowMs: number;
  minSecLevel: SecLevel;
  serverInstance: string;
  /** Bootstrap tier (docs/PROTOCOL.md "Bootstrap and device lifecycle"). */
  bootstrapTtlMs: number;
  bootstrapPerMinute: number;
  bootstrapBurst: number;
  /** Worker threads that verify signed messages; 0 verifies on the main thread. */
  verifyWorkers: number;
  /** Free bytes kept on the data directory's file system: below them new data is refused (storage_unavailable). */
  diskReserveBytes: number;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Caps against one address filling the sockets (docs/PROTOCOL.md "Connection caps"). */
  maxConnectionsPerAddress: number;
  maxUnregisteredPerAddress: number;
  maxAppsPerConnection: number;
  maxWatchers: number;
  maxWatchersPerAddress: number;
  /** Audit: how refusals of unauthenticated requests are counted, and how long rows are kept (docs/API.md "Audit log"). */
  refusalIntervalMs: number;
  refusalMaxEntries: number;
  auditRetentionMs: number;
  auditMaxRows: number;
  /** Registration gate (docs/PROTOCOL.md "Registration gate"): gated needs a join token for undeclared apps. */
  registration: RegistrationMode;
  /** First-contact budgets: awaiting rows at once, first contacts a minute from all addresses, and how long expired rows are kept. */
  bootstrapMaxAwaiting: number;
  bootstrapGlobalPerMinute: number;
  bootstrapRetentionMs: number;
}

export class ConfigError extends Error {}

interface Setting {
  env: string;
  flag: string;
  apply(c: GatewayConfig, v: string): void;
  help: string;
}

const SETTINGS: Setting[] = [
  { env: 'TRAILS_DATA_DIR', flag: '--data-dir', help: 'directory of trails.db and keys (default ./data)', apply: (c, v) => void (c.dataDir = resolve(v)) },
  { env: 'TRAILS_LISTEN', flag: '--listen', help: 'HOST:PORT for HTTP and WebSocket (default 0.0.0.0:8443)', apply: applyListen },
  { env: 'TRAILS_TLS_CERT', flag: '--tls-cert', help: 'PEM certificate: serve https/wss (the full tier)', apply: (c, v) => void (c.tlsCert = resolve(v)) },
  { env: 'TRAILS_TLS_KEY', flag: '--tls-key', help: 'PEM private key for --tls-cert', apply: (c, v) => void (c.tlsKey = resolve(v)) },
  { env: 'TRAILS_MAX_FRAME', flag: '--max-frame', help: 'largest accepted frame in bytes (default 65536)', apply: (c, v) => void (c.maxFrameBytes = int(v, '--max-frame', 256, 16 << 20)) },
  { env: 'TRAILS_MAX_CONNECTIONS', flag: '--max-connections', help: 'device sockets accepted at once (default 20000)', apply: (c, v) => void (c.maxConnections = int(v, '--max-connections', 1, 1_000_000)) },
  { env: 'TRAILS_RATE', flag: '--rate', help: 'frames per second per connection (default 500)', apply: (c, v) => void (c.rate = int(v, '--rate', 1, 1_000_000)) },
  { env: 'TRAILS_BURST', flag: '--burst', help: 'burst above --rate (default 1000)', apply: (c, v) => void (c.burst = int(v, '--burst', 1, 1_000_000)) },
  { env: 'TRAILS_RECONNECT_WINDOW', flag: '--reconnect-window', help: 'seconds apps have to re_register after a restart (default 60)', apply: (c, v) => void (c.reconnectWindowMs = 1000 * int(v, '--reconnect-window', 1, 86_400)) },
  { env: 'TRAILS_HEARTBEAT', flag: '--heartbeat', help: 'seconds between pings to devices, 0 = off (default 30)', apply: (c, v) => void (c.heartbeatMs = 1000 * int(v, '--heartbeat', 0, 3600)) },
  { env: 'TRAILS_SNAPSHOT_RETENTION', flag: '--snapshot-retention', help: 'Status rows (snapshots) kept per app: those of its last N seqs (default 100)', apply: (c, v) => void (c.snapshotRetention = int(v, '--snapshot-retention', 1, 10_000_000)) },
  { env: 'TRAILS_CONTROL_TTL', flag: '--control-ttl', help: 'seconds a control waits for an offline device (default 300)', apply: (c, v) => void (c.controlTtlMs = 1000 * int(v, '--control-ttl', 1, 30 * 86_400)) },
  { env: 'TRAILS_WATCH_STATUS_WINDOW', flag: '--watch-status-window', help: 'ms a subtree watch gathers Status events, keeping each app\'s latest; 0 = every one (default 500)', apply: (c, v) => void (c.watchStatusWindowMs = int(v, '--watch-status-window', 0, 60_000)) },
  { env: 'TRAILS_MIN_SEC_LEVEL', flag: '--min-sec-level', help: 'lowest tier accepted: open, signed, encrypted or full (default open)', apply: applySecLevel },
  { env: 'TRAILS_VERIFY_WORKERS', flag: '--verify-workers', help: 'threads verifying signatures, 0 = main thread (default: one per core)', apply: (c, v) => void (c.verifyWorkers = int(v, '--verify-workers', 0, 64)) },
  { env: 'TRAILS_INSTANCE', flag: '--instance', help: 'name of this gateway in apps.server_instance (default: host name)', apply: (c, v) => void (c.serverInstance = v) },
  { env: 'TRAILS_BOOTSTRAP_TTL', flag: '--bootstrap-ttl', help: 'seconds an unclaimed device is held after first contact (default 3600)', apply: (c, v) => void (c.bootstrapTtlMs = 1000 * int(v, '--bootstrap-ttl', 1, 30 * 86_400)) },
  { env: 'TRAILS_BOOTSTRAP_RATE', flag: '--bootstrap-rate', help: 'bootstrap registrations a minute per remote address (default 10)', apply: (c, v) => void (c.bootstrapPerMinute = int(v, '--bootstrap-rate', 1, 1_000_000)) },
  { env: 'TRAILS_BOOTSTRAP_BURST', flag: '--bootstrap-burst', help: 'burst of bootstrap registrations per address (default 20)', apply: (c, v) => void (c.bootstrapBurst = int(v, '--bootstrap-burst', 1, 1_000_000)) },
  { env: 'TRAILS_DISK_RESERVE', flag: '--disk-reserve', help: 'MiB kept free on the data directory\'s disk: below it new data is refused, devices re-send later (default 64)', apply: (c, v) => void (c.diskReserveBytes = int(v, '--disk-reserve', 0, 1 << 20) * (1 << 20)) },
  { env: 'TRAILS_LOG_LEVEL', flag: '--log-level', help: 'silent, error, warn, info or debug (default info)', apply: applyLogLevel },
  { env: 'TRAILS_MAX_CONNECTIONS_PER_ADDRESS', flag: '--max-connections-per-address', help: 'device sockets one remote address may hold, loopback included (default 64)', apply: (c, v) => void (c.maxConnectionsPerAddress = int(v, '--max-connections-per-address', 1, 1_000_000)) },
  { env: 'TRAILS_MAX_UNREGISTERED_PER_ADDRESS', flag: '--max-unregistered-per-address', help: 'sockets of one address on which nothing registered yet (default 16)', apply: (c, v) => void (c.maxUnregisteredPerAddress = int(v, '--max-unregistered-per-address', 1, 1_000_000)) },
  { env: 'TRAILS_MAX_APPS_PER_CONNECTION', flag: '--max-apps-per-connection', help: 'apps one device socket may carry (default 64)', apply: (c, v) => void (c.maxAppsPerConnection = int(v, '--max-apps-per-connection', 1, 1_000_000)) },
  { env: 'TRAILS_MAX_WATCHERS', flag: '--max-watchers', help: 'watch sockets (/api/v1/watch) accepted at once (default 10000)', apply: (c, v) => void (c.maxWatchers = int(v, '--max-watchers', 1, 1_000_000)) },
  { env: 'TRAILS_MAX_WATCHERS_PER_ADDRESS', flag: '--max-watchers-per-address', help: 'watch sockets one remote address may hold (default 32)', apply: (c, v) => void (c.maxWatchersPerAddress = int(v, '--max-watchers-per-address', 1, 1_000_000)) },
  { env: 'TRAILS_REFUSAL_INTERVAL', flag: '--refusal-interval', help: 'seconds over which refused unauthenticated requests are counted into one audit row per address, action and reason (default 60)', apply: (c, v) => void (c.refusalIntervalMs = 1000 * int(v, '--refusal-interval', 1, 86_400)) },
  { env: 'TRAILS_REFUSAL_MAX_ENTRIES', flag: '--refusal-max-entries', help: 'distinct address/action/reason counters per interval; the rest share one per reason (default 1000)', apply: (c, v) => void (c.refusalMaxEntries = int(v, '--refusal-max-entries', 1, 1_000_000)) },
  { env: 'TRAILS_AUDIT_RETENTION_DAYS', flag: '--audit-retention-days', help: 'days audit rows are kept (default 90)', apply: (c, v) => void (c.auditRetentionMs = 86_400_000 * int(v, '--audit-retention-days', 1, 36_500)) },
  { env: 'TRAILS_AUDIT_MAX_ROWS', flag: '--audit-max-rows', help: 'audit rows kept at most, the newest (default 100000)', apply: (c, v) => void (c.auditMaxRows = int(v, '--audit-max-rows', 100, 100_000_000)) },
  { env: 'TRAILS_REGISTRATION', flag: '--registration', help: 'gated: a new app needs a join token unless declared or claimed; open: anyone registers (default gated)', apply: applyRegistration },
  { env: 'TRAILS_BOOTSTRAP_MAX_AWAITING', flag: '--bootstrap-max-awaiting', help: 'devices awaiting claim held at once, all addresses (default 1000)', apply: (c, v) => void (c.bootstrapMaxAwaiting = int(v, '--bootstrap-max-awaiting', 1, 1_000_000)) },
  { env: 'TRAILS_BOOTSTRAP_GLOBAL_RATE', flag: '--bootstrap-global-rate', help: 'bootstrap registrations a minute from all addresses together (default 120)', apply: (c, v) => void (c.bootstrapGlobalPerMinute = int(v, '--bootstrap-global-rate', 1, 1_000_000)) },
  { env: 'TRAILS_BOOTSTRAP_RETENTION', flag: '--bootstrap-retention', help: 'seconds an expired first contact is kept before it is deleted (default 86400)', apply: (c, v) => void (c.bootstrapRetentionMs = 1000 * int(v, '--bootstrap-retention', 0, 365 * 86_400)) },
];

export function defaultConfig(): GatewayConfig {
  return {
    dataDir: resolve('data'),
    host: '0.0.0.0',
    port: 8443,
    maxFrameBytes: 64 * 1024,
    maxConnections: 20_000,
    rate: 500,
    burst: 1000,
    reconnectWindowMs: 60_000,
    registrationTimeoutMs: 30_000,
    heartbeatMs: 30_000,
    snapshotRetention: 100,
    controlTtlMs: 300_000,
    watchStatusWindowMs: 500,
    minSecLevel: 'open',
    serverInstance: hostname(),
    bootstrapTtlMs: 3_600_000,
    bootstrapPerMinute: 10,
    bootstrapBurst: 20,
    // One per core: signed ingest is verify-bound and the event loop's share is small (bench/README.md).
    verifyWorkers: Math.max(1, availableParallelism()),
    diskReserveBytes: 64 << 20,
    logLevel: 'info',
    maxConnectionsPerAddress: 64,
    maxUnregisteredPerAddress: 16,
    maxAppsPerConnection: 64,
    maxWatchers: 10_000,
    maxWatchersPerAddress: 32,
    refusalIntervalMs: 60_000,
    refusalMaxEntries: 1000,
    auditRetentionMs: 90 * 86_400_000,
    auditMaxRows: 100_000,
    registration: 'gated',
    bootstrapMaxAwaiting: 1000,
    bootstrapGlobalPerMinute: 120,
    bootstrapRetentionMs: 86_400_000,
  };
}

export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): GatewayConfig {
  const c = defaultConfig();
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') s.apply(c, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const s = SETTINGS.find((x) => x.flag === flag);
    if (!s) throw new ConfigError(`unknown option ${flag}; try --help`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new ConfigError(`${flag} needs a value`);
    s.apply(c, v);
  }
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together');
  return c;
}

export function usage(): string {
  const lines = SETTINGS.map((s) => `  ${`${s.flag} VALUE`.padEnd(38)} ${s.help}  [${s.env}]`);
  return `Usage: trailsd [options]\n\n${lines.join('\n')}\n`;
}

function applyListen(c: GatewayConfig, v: string): void {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  if (!m) throw new ConfigError(`listen address "${v}" is not HOST:PORT (for example 0.0.0.0:8443)`);
  c.host = m[1] || m[2] || c.host;
  c.port = int(m[3]!, '--listen port', 0, 65535);
}

function applySecLevel(c: GatewayConfig, v: string): void {
  if (!SEC_LEVELS.includes(v as SecLevel)) throw new ConfigError(`--min-sec-level must be one of ${SEC_LEVELS.join(', ')}, not "${v}"`);
  c.minSecLevel = v as SecLevel;
}

function applyRegistration(c: GatewayConfig, v: string): void {
  if (!REGISTRATION_MODES.includes(v as RegistrationMode)) throw new ConfigError(`--registration must be one of ${REGISTRATION_MODES.join(', ')}, not "${v}"`);
  c.registration = v as RegistrationMode;
}

function applyLogLevel(c: GatewayConfig, v: string): void {
  const levels = ['silent', 'error', 'warn', 'info', 'debug'] as const;
  if (!levels.includes(v as (typeof levels)[number])) throw new ConfigError(`--log-level must be one of ${levels.join(', ')}`);
  c.logLevel = v as GatewayConfig['logLevel'];
}

function int(v: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${name} must be a whole number, not "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, not ${n}`);
  return n;
}
