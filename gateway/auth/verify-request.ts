/**
 * The stateless half of request authentication: the X-Trails-* headers are
 * present and well formed, the timestamp is inside the window, and the
 * signature verifies under the key the request names. Who that key belongs
 * to, and whether the nonce is fresh, are principal.ts and authenticator.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { publicKeyObject, verify } from '../crypto/ed25519.js';
import { isUuid } from '../../protocol/parse.js';
import { decodePublicKey, decodeSignature } from '../../protocol/keys.js';
import { AUTH_HEADERS, NONCE_PATTERN, bodySha256, requestSigningInput, type SignedRequestFacts } from './request-signing.js';

export interface AuthFailure {
  status: 401 | 403 | 503;
  code: string;
  message: string;
}

export interface IncomingSigned {
  method: string;
  /** The request target exactly as received: path and query string. */
  url: string;
  headers: IncomingHttpHeaders;
  body?: Uint8Array;
}

export type Checked = { ok: true; facts: SignedRequestFacts } | { ok: false; failure: AuthFailure };

const unauthorized = (code: string, message: string): Checked => ({ ok: false, failure: { status: 401, code, message } });

export function checkSignedRequest(req: IncomingSigned, nowMs: number, skewMs: number): Checked {
  const h = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const key = h(AUTH_HEADERS.key);
  const ts = h(AUTH_HEADERS.timestamp);
  const nonce = h(AUTH_HEADERS.nonce);
  const sig = h(AUTH_HEADERS.signature);
  const app = h(AUTH_HEADERS.app);
  if (!key || !ts || !nonce || !sig) {
    return unauthorized('unauthenticated', 'sign the request: X-Trails-Key, X-Trails-Timestamp, X-Trails-Nonce and X-Trails-Signature are required (docs/API.md)');
  }
  const pub = keyObject(key);
  if (!pub) return unauthorized('bad_key', 'X-Trails-Key must be "ed25519:" + base64 of a 32-byte public key');
  if (app !== undefined && !isUuid(app)) return unauthorized('bad_request_auth', 'X-Trails-App must be the UUID of a registered app');
  if (!/^\d{1,16}$/.test(ts)) return unauthorized('bad_timestamp', 'X-Trails-Timestamp must be milliseconds since the epoch');
  if (!NONCE_PATTERN.test(nonce)) return unauthorized('bad_nonce', 'X-Trails-Nonce must be 16 to 64 characters of A-Z a-z 0-9 _ -');
  const raw = decodeSignature(sig);
  if (!raw) return unauthorized('bad_signature', 'X-Trails-Signature must be "ed25519:" + base64 of a 64-byte signature');
  const timestamp = Number(ts);
  if (Math.abs(nowMs - timestamp) > skewMs) {
    return unauthorized('stale_timestamp', `X-Trails-Timestamp is more than ${Math.round(skewMs / 1000)} s from the gateway's clock`);
  }
  const facts: SignedRequestFacts = {
    method: req.method.toUpperCase(),
    path: req.url,
    timestamp,
    nonce,
    body_sha256: bodySha256(req.body),
    key,
    app_id: app === undefined ? null : app.toLowerCase(),
  };
  // The app id is signed as sent; it is lower-cased only for the look-up.
  if (!verify(requestSigningInput({ ...facts, app_id: app ?? null }), raw, pub)) {
    return unauthorized('bad_signature', 'the signature does not verify for this method, path, body, timestamp and nonce');
  }
  return { ok: true, facts };
}

/** Parsed keys, kept for the keys seen recently (apps sign many requests with one key). */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 1024;

function keyObject(text: string): KeyObject | undefined {
  const hit = keyCache.get(text);
  if (hit) return hit;
  const raw = decodePublicKey(text);
  if (!raw) return undefined;
  const key = publicKeyObject(raw);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(text, key);
  return key;
}
