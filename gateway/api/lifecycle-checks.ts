/** Value checks of the lifecycle endpoints that JSON Schema cannot express exactly. */
import { decodePublicKey } from '../../protocol/keys.js';
import { badRequest } from './errors.js';

const SCHEMES = new Set(['ws:', 'wss:', 'http:', 'https:']);

/** A serverEp a device can use: ws, wss, http or https, with a host. */
export function checkEndpoint(ep: string, field: string): string {
  let url: URL;
  try {
    url = new URL(ep);
  } catch {
    throw badRequest(`${field} must be a URL (ws://, wss://, http:// or https://)`);
  }
  if (!SCHEMES.has(url.protocol) || url.hostname === '') throw badRequest(`${field} must be a ws://, wss://, http:// or https:// URL with a host`);
  return ep;
}

/** "ed25519:" + canonical base64 of exactly 32 bytes (one text per key, as on the wire). */
export function checkKey(key: string, field: string): string {
  if (!decodePublicKey(key)) throw badRequest(`${field} must be "ed25519:" + standard base64 of a 32-byte public key`);
  return key;
}

/** An RFC 3339 instant strictly after `now` (ms). */
export function futureInstant(text: string, now: number, field: string): number {
  const at = Date.parse(text);
  if (!Number.isFinite(at)) throw badRequest(`${field} must be an RFC 3339 date-time`);
  if (at <= now) throw badRequest(`${field} ${new Date(at).toISOString()} is not in the future (gateway time ${new Date(now).toISOString()}): keys must overlap, never lapse`);
  return at;
}
