/**
 * Where the gateway is and who the CLI speaks as, from options and the
 * environment:
 *
 *  - server: --server, else TRAILS_SERVER, else the serverEp of TRAILS_INFO
 *    (ws→http, /ws dropped), else where the gateway listens: TRAILS_LISTEN
 *    (the gateway's own setting, HOST:PORT), else DIR/listen when the
 *    gateway recorded it there, else http://127.0.0.1:8443. A wildcard
 *    host (0.0.0.0, ::) means this machine: the loopback address.
 *  - data dir: --data-dir, else TRAILS_DATA_DIR, else ./data (the admin key)
 *  - identity: TRAILS_APP_ID + TRAILS_APP_KEY (what `trails register`
 *    exports) sign as that app; otherwise the local admin key signs.
 *
 * Keys are read only when a request is signed, so --help and `register`
 * work without them.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeTrailsInfo, type TrailsConfig } from '../client/config.js';
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import { readAdminKey } from './admin-key.js';
import { cliCrypto } from './crypto.js';
import { isUuid } from '../protocol/parse.js';
import { CliError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8443';
/** The file in the data directory where a gateway may record its listen address (HOST:PORT). */
export const LISTEN_FILE = 'listen';

export type Env = Record<string, string | undefined>;

export interface Globals {
  server?: string;
  dataDir?: string;
  json: boolean;
}

export type Signer = { kind: 'admin'; key: Ed25519KeyPair } | { kind: 'app'; appId: string; key: Ed25519KeyPair };

export interface Settings {
  /** http(s)://host:port, no trailing slash. */
  serverUrl: string;
  dataDir: string;
  json: boolean;
  /** TRAILS_APP_ID, lower-cased: the default target of tree, children, cancel, child-info. */
  appId?: string;
  /** The decoded TRAILS_INFO, when it decodes. */
  info?: TrailsConfig;
  env: Env;
  /** Who signs API requests; throws a CliError when the key cannot be had. */
  signer(): Signer;
}

export function resolveSettings(globals: Globals, env: Env, cwd: string): Settings {
  const info = decodeInfo(env.TRAILS_INFO);
  const dataDir = resolve(cwd, globals.dataDir ?? nonEmpty(env.TRAILS_DATA_DIR) ?? 'data');
  const serverUrl = normalizeServer(globals.server ?? nonEmpty(env.TRAILS_SERVER) ?? (info ? fromServerEp(info.serverEp) : listening(env, dataDir)));
  const rawId = nonEmpty(env.TRAILS_APP_ID);
  if (rawId !== undefined && !isUuid(rawId)) throw new CliError(`TRAILS_APP_ID must be a UUID, not "${String(rawId).slice(0, 64)}"`);
  const appId = rawId?.toLowerCase();
  let signer: Signer | undefined;
  return {
    serverUrl,
    dataDir,
    json: globals.json,
    ...(appId ? { appId } : {}),
    ...(info ? { info } : {}),
    env,
    signer() {
      signer ??= resolveSigner(appId, nonEmpty(env.TRAILS_APP_KEY), dataDir);
      return signer;
    },
  };
}

/** The gateway's listen address as a URL to reach it from here: TRAILS_LISTEN, else DIR/listen, else the default. */
function listening(env: Env, dataDir: string): string {
  const fromEnv = nonEmpty(env.TRAILS_LISTEN);
  if (fromEnv !== undefined) return listenUrl(fromEnv, 'TRAILS_LISTEN');
  const file = join(dataDir, LISTEN_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return DEFAULT_SERVER; // no record (an older gateway, or another directory): the default
  }
  return listenUrl(text, file);
}

/** HOST:PORT (or only PORT, or a URL) → http://host:port, with a wildcard host as loopback. */
export function listenUrl(text: string, source: string): string {
  if (/^(https?|wss?):\/\//.test(text)) return text;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) throw new CliError(`${source} must be HOST:PORT such as 0.0.0.0:8443, not "${text.slice(0, 100)}"`);
  const v6 = m[1];
  const host = v6 !== undefined ? (v6 === '::' ? '[::1]' : `[${v6}]`) : !m[2] || m[2] === '0.0.0.0' ? '127.0.0.1' : m[2];
  return `http://${host}:${m[3]}`;
}

function resolveSigner(appId: string | undefined, appKey: string | undefined, dataDir: string): Signer {
  if (appKey !== undefined) {
    if (!appId) throw new CliError('TRAILS_APP_KEY is set but TRAILS_APP_ID is not; set both (eval "$(trails register)") or neither');
    return { kind: 'app', appId, key: appKeyPair(appKey) };
  }
  try {
    return { kind: 'admin', key: readAdminKey(dataDir) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const path = resolve(dataDir, 'admin.key');
    if (code === 'ENOENT') throw new CliError(`no admin key at ${path}; pass the gateway's --data-dir (or TRAILS_DATA_DIR), or act as an app with TRAILS_APP_ID and TRAILS_APP_KEY`);
    if (code === 'EACCES') throw new CliError(`cannot read the admin key ${path} (permission denied); run as the gateway's user`);
    throw new CliError(`cannot use the admin key ${path}: ${(e as Error).message}`);
  }
}

export function appKeyPair(text: string): Ed25519KeyPair {
  const seed = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (seed.length !== 32) throw new CliError('TRAILS_APP_KEY must be base64 of a 32-byte Ed25519 seed (as `trails register` prints it)');
  return cliCrypto.ed25519.keyPairFromSeed(new Uint8Array(seed));
}

function decodeInfo(text: string | undefined): TrailsConfig | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return decodeTrailsInfo(text);
  } catch {
    // Commands that need it say so; the others do not care.
    return undefined;
  }
}

/** ws://h:p/ws → http://h:p; wss → https. */
export function fromServerEp(ep: string): string {
  try {
    const u = new URL(ep);
    const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
    const path = u.pathname.replace(/\/ws\/?$/, '').replace(/\/+$/, '');
    return `${scheme}//${u.host}${path}`;
  } catch {
    return DEFAULT_SERVER;
  }
}

function normalizeServer(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:8443, not "${text.slice(0, 100)}"`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new CliError(`--server must be http(s):// or ws(s)://, not ${u.protocol}`);
  return fromServerEp(u.toString());
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
