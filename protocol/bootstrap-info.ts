/**
 * TRAILS_INFO in bootstrap mode (addendum 0 §A0.3): what a factory-fresh
 * device knows. parentPubKey says whose claim it will accept, serverEp where
 * to make first contact, serverPubKey the gateway key it pins there (the
 * provision it gets is verified against it).
 *
 *   {"v":1,"mode":"bootstrap","parentPubKey":"ed25519:…","serverEp":"ws://…","serverPubKey":"ed25519:…"}
 */
import { fromBase64Loose, fromUtf8, toBase64, utf8 } from './bytes.js';
import { decodePublicKey } from './keys.js';
import { TRAILS_INFO_VERSION, TrailsConfigError, toWsUrl } from './trails-info.js';

export interface BootstrapInfo {
  v: number;
  mode: 'bootstrap';
  parentPubKey: string;
  serverEp: string;
  serverPubKey: string;
}

export function validateBootstrapInfo(raw: unknown): BootstrapInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TrailsConfigError(null, 'bootstrap TRAILS_INFO must be a JSON object');
  const o = raw as Record<string, unknown>;
  if ((o.v ?? TRAILS_INFO_VERSION) !== TRAILS_INFO_VERSION) throw new TrailsConfigError('v', `TRAILS_INFO version ${JSON.stringify(o.v)} is not supported`);
  if (o.mode !== 'bootstrap') throw new TrailsConfigError('mode', '"mode" must be "bootstrap"');
  for (const k of ['parentPubKey', 'serverPubKey'] as const) {
    if (!decodePublicKey(o[k])) throw new TrailsConfigError(k, `"${k}" must be "ed25519:" + base64 of 32 bytes`);
  }
  if (typeof o.serverEp !== 'string') throw new TrailsConfigError('serverEp', '"serverEp" must be a URL string');
  toWsUrl(o.serverEp);
  return { v: TRAILS_INFO_VERSION, mode: 'bootstrap', parentPubKey: o.parentPubKey as string, serverEp: o.serverEp, serverPubKey: o.serverPubKey as string };
}

export function decodeBootstrapInfo(b64: string): BootstrapInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(fromUtf8(fromBase64Loose(b64)));
  } catch (e) {
    throw new TrailsConfigError(null, `TRAILS_INFO does not decode to JSON: ${(e as Error).message}`);
  }
  return validateBootstrapInfo(raw);
}

export function encodeBootstrapInfo(info: BootstrapInfo): string {
  const c = validateBootstrapInfo(info);
  return toBase64(utf8(JSON.stringify({ v: c.v, mode: c.mode, parentPubKey: c.parentPubKey, serverEp: c.serverEp, serverPubKey: c.serverPubKey })));
}
