/**
 * TRAILS_INFO (spec §5): the envelope a parent hands its child, as standard
 * padded base64 of UTF-8 JSON with camelCase keys. Everything is checked at
 * decode time with an error that names the field, so a bad envelope is found
 * at start, not on the first message.
 */
import { fromBase64Loose, fromUtf8, toBase64, utf8 } from './bytes.js';
import type { JsonValue, SecLevel } from './frames.js';
import { SEC_LEVELS } from './frames.js';
import { decodePublicKey } from './keys.js';
import { isUuid } from './parse.js';

export const TRAILS_INFO_VERSION = 1;

export interface Originator {
  sub?: string | null;
  groups?: string[] | null;
}

export interface TrailsConfig {
  v: number;
  appId: string;
  parentId: string | null;
  appName: string;
  /** ws://, wss://, http:// or https://; /ws is appended when the path does not end in it. */
  serverEp: string;
  /** "ed25519:" + base64; required for the signed and full tiers (controls are verified against it). */
  serverPubKey?: string | null;
  secLevel: SecLevel;
  /** Epoch ms when the parent made this config. */
  scheduledAt?: number | null;
  /** Seconds the child has to register before the gateway calls it start_failed. */
  startDeadline?: number | null;
  originator?: Originator | null;
  roleRefs?: string[];
  tags?: Record<string, JsonValue> | null;
  /** Reserved for later phases; carried through untouched. */
  mode?: string | null;
  parentPubKey?: string | null;
}

export class TrailsConfigError extends Error {
  constructor(readonly field: string | null, message: string) {
    super(message);
    this.name = 'TrailsConfigError';
  }
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_NAME = 256;

export function decodeTrailsInfo(b64: string): TrailsConfig {
  if (typeof b64 !== 'string' || b64.trim() === '') throw new TrailsConfigError(null, 'TRAILS_INFO is empty');
  const text = b64.replace(/\s+/g, '');
  if (!B64.test(text) || text.length % 4 === 1) {
    throw new TrailsConfigError(null, 'TRAILS_INFO is not standard base64 (A-Z a-z 0-9 + / with = padding)');
  }
  const json = fromUtf8(fromBase64Loose(text));
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new TrailsConfigError(null, `TRAILS_INFO does not decode to JSON: ${(e as Error).message}`);
  }
  return validateConfig(raw);
}

export function encodeTrailsInfo(config: TrailsConfig): string {
  const c = validateConfig(config);
  // Stable key order and no undefined members, so equal configs encode equally.
  const out: Record<string, unknown> = {
    v: c.v,
    appId: c.appId,
    parentId: c.parentId,
    appName: c.appName,
    serverEp: c.serverEp,
    serverPubKey: c.serverPubKey ?? null,
    secLevel: c.secLevel,
    scheduledAt: c.scheduledAt ?? null,
    startDeadline: c.startDeadline ?? null,
    originator: c.originator ?? null,
    roleRefs: c.roleRefs ?? [],
    tags: c.tags ?? null,
  };
  if (c.mode != null) out.mode = c.mode;
  if (c.parentPubKey != null) out.parentPubKey = c.parentPubKey;
  return toBase64(utf8(JSON.stringify(out)));
}

/** Checks and normalises a config (ids lowercased, defaults filled). Throws TrailsConfigError. */
export function validateConfig(raw: unknown): TrailsConfig {
  if (!isObject(raw)) throw new TrailsConfigError(null, 'TRAILS_INFO must be a JSON object');
  const v = raw.v ?? TRAILS_INFO_VERSION;
  if (v !== TRAILS_INFO_VERSION) throw new TrailsConfigError('v', `TRAILS_INFO version ${JSON.stringify(v)} is not supported (this client speaks v${TRAILS_INFO_VERSION})`);
  const appId = raw.appId;
  if (!isUuid(appId)) throw new TrailsConfigError('appId', `"appId" must be a UUID, got ${short(appId)}`);
  const parentId = raw.parentId ?? null;
  if (parentId !== null && !isUuid(parentId)) throw new TrailsConfigError('parentId', `"parentId" must be a UUID or null, got ${short(parentId)}`);
  const appName = raw.appName;
  if (typeof appName !== 'string' || appName.length === 0 || appName.length > MAX_NAME) {
    throw new TrailsConfigError('appName', `"appName" must be a non-empty string of at most ${MAX_NAME} characters`);
  }
  const serverEp = raw.serverEp;
  if (typeof serverEp !== 'string') throw new TrailsConfigError('serverEp', '"serverEp" must be a URL string');
  toWsUrl(serverEp); // throws with a clear message
  const secLevel = raw.secLevel ?? 'open';
  if (!SEC_LEVELS.includes(secLevel as SecLevel)) throw new TrailsConfigError('secLevel', `"secLevel" must be one of ${SEC_LEVELS.join(', ')}, got ${short(secLevel)}`);
  const serverPubKey = raw.serverPubKey ?? null;
  if (serverPubKey !== null && !decodePublicKey(serverPubKey)) {
    throw new TrailsConfigError('serverPubKey', '"serverPubKey" must be "ed25519:" + base64 of 32 bytes');
  }
  if (secLevel !== 'open' && serverPubKey === null) {
    throw new TrailsConfigError('serverPubKey', `"serverPubKey" is required for the ${secLevel as string} tier (controls are verified against it)`);
  }
  const config: TrailsConfig = {
    v: TRAILS_INFO_VERSION,
    appId: appId.toLowerCase(),
    parentId: parentId === null ? null : (parentId as string).toLowerCase(),
    appName,
    serverEp,
    serverPubKey: serverPubKey as string | null,
    secLevel: secLevel as SecLevel,
    scheduledAt: optInt(raw, 'scheduledAt'),
    startDeadline: optInt(raw, 'startDeadline'),
    originator: originator(raw.originator),
    roleRefs: stringArray(raw.roleRefs ?? [], 'roleRefs'),
    tags: tags(raw.tags),
  };
  const mode = optStr(raw, 'mode');
  const parentPubKey = optStr(raw, 'parentPubKey');
  if (mode !== null) config.mode = mode;
  if (parentPubKey !== null) config.parentPubKey = parentPubKey;
  return config;
}

/** serverEp → the device endpoint: http→ws, https→wss, and /ws appended when the path does not end in it. */
export function toWsUrl(serverEp: string): string {
  let url: URL;
  try {
    url = new URL(serverEp);
  } catch {
    throw new TrailsConfigError('serverEp', `"serverEp" is not a URL: ${short(serverEp)}`);
  }
  const schemes: Record<string, string> = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' };
  const scheme = schemes[url.protocol];
  if (!scheme) throw new TrailsConfigError('serverEp', `"serverEp" scheme ${url.protocol} is not supported by this client (ws, wss, http, https)`);
  url.protocol = scheme;
  if (!url.pathname.endsWith('/ws')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  url.hash = '';
  return url.toString();
}

/**
 * serverEp with a join token (docs/PROTOCOL.md "Registration gate"): the
 * device path /ws spelled out and ?join=TOKEN, so that a client that only
 * reads serverEp (and appends /ws only when "/ws" is not in it) carries the
 * token on its upgrade unchanged.
 */
export function withJoinToken(serverEp: string, token: string): string {
  const url = new URL(toWsUrl(serverEp));
  url.searchParams.set('join', token);
  return url.toString();
}

/** serverEp without a join token: a token belongs to one app and is never inherited. */
export function withoutJoinToken(serverEp: string): string {
  const url = new URL(serverEp);
  if (!url.searchParams.has('join')) return serverEp;
  url.searchParams.delete('join');
  return url.toString();
}

// ── field checks ────────────────────────────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optInt(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  if (v == null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new TrailsConfigError(key, `"${key}" must be a non-negative integer or null, got ${short(v)}`);
  return v as number;
}

function optStr(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v == null) return null;
  if (typeof v !== 'string') throw new TrailsConfigError(key, `"${key}" must be a string or null`);
  return v;
}

function stringArray(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length <= MAX_NAME)) {
    throw new TrailsConfigError(key, `"${key}" must be an array of strings`);
  }
  return [...(v as string[])];
}

function originator(v: unknown): Originator | null {
  if (v == null) return null;
  if (!isObject(v)) throw new TrailsConfigError('originator', '"originator" must be an object or null');
  const sub = v.sub ?? null;
  if (sub !== null && typeof sub !== 'string') throw new TrailsConfigError('originator', '"originator.sub" must be a string or null');
  const groups = v.groups == null ? null : stringArray(v.groups, 'originator.groups');
  return { sub: sub as string | null, groups };
}

function tags(v: unknown): Record<string, JsonValue> | null {
  if (v == null) return null;
  if (!isObject(v)) throw new TrailsConfigError('tags', '"tags" must be an object or null');
  return { ...(v as Record<string, JsonValue>) };
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
