/**
 * Signed REST and watch requests (docs/API.md "Authentication"). The gateway
 * verifies with the same `requestSigningInput`, and the CLI, the browser and
 * tests sign with `signRequest`, so both sides build one byte string from one
 * function:
 *
 *   UTF-8( "TRAILS-REQ-V1\n" + JCS({method, path, timestamp, nonce,
 *                                   body_sha256, key, app_id}) )
 *
 * `path` is the request target exactly as sent (path and query string), and
 * `body_sha256` the hex SHA-256 of the raw body bytes, so neither the target
 * nor the body can be changed; timestamp and nonce make a replay detectable.
 */
import { toBase64Url, toHex, utf8 } from './bytes.js';
import { canonicalize } from './canonical.js';
import type { Ed25519KeyPair, TrailsCrypto } from './crypto.js';
import { encodePublicKey, encodeSignature } from './keys.js';

export const REQ_DOMAIN = 'TRAILS-REQ-V1\n';

/** Header names, lower case as node:http presents them. */
export const AUTH_HEADERS = {
  key: 'x-trails-key',
  app: 'x-trails-app',
  timestamp: 'x-trails-timestamp',
  nonce: 'x-trails-nonce',
  signature: 'x-trails-signature',
} as const;

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The facts a request signature covers. */
export interface SignedRequestFacts {
  method: string;
  path: string;
  timestamp: number;
  nonce: string;
  body_sha256: string;
  key: string;
  app_id: string | null;
}

export function requestSigningInput(f: SignedRequestFacts): Uint8Array {
  const facts: SignedRequestFacts = {
    method: f.method.toUpperCase(),
    path: f.path,
    timestamp: f.timestamp,
    nonce: f.nonce,
    body_sha256: f.body_sha256,
    key: f.key,
    app_id: f.app_id,
  };
  return utf8(REQ_DOMAIN + canonicalize(facts));
}

export interface SignRequestInput {
  method: string;
  /** Path and query string, exactly as they will be sent. */
  path: string;
  /** The raw body as it will be sent; omit for none. */
  body?: Uint8Array | string;
  key: Ed25519KeyPair;
  /** The app the caller acts as; omit (or null) for the admin key. */
  appId?: string | null;
  /** ms since the epoch; defaults to Date.now(). */
  now?: number;
  nonce?: string;
}

export interface RequestSigning {
  /** Hex SHA-256 of the raw body (UTF-8 for a string; none hashes as empty). */
  bodySha256(body: Uint8Array | string | undefined | null): string;
  newNonce(): string;
  /** The X-Trails-* headers for one request. Sign each request anew: a nonce is accepted once. */
  signRequest(input: SignRequestInput): Record<string, string>;
}

/** Request signing on one cryptography (node:crypto in the gateway, noble in the CLI and browser). */
export function requestSigning(crypto: Pick<TrailsCrypto, 'ed25519' | 'sha256' | 'randomBytes'>): RequestSigning {
  const bodySha256 = (body: Uint8Array | string | undefined | null): string => toHex(crypto.sha256(typeof body === 'string' ? utf8(body) : (body ?? new Uint8Array(0))));
  const newNonce = (): string => toBase64Url(crypto.randomBytes(18));
  function signRequest(input: SignRequestInput): Record<string, string> {
    const key = encodePublicKey(input.key.publicKey);
    const facts: SignedRequestFacts = {
      method: input.method,
      path: input.path,
      timestamp: input.now ?? Date.now(),
      nonce: input.nonce ?? newNonce(),
      body_sha256: bodySha256(input.body),
      key,
      app_id: input.appId ?? null,
    };
    const sig = crypto.ed25519.sign(requestSigningInput(facts), crypto.ed25519.signingKey(input.key.secretKey));
    const headers: Record<string, string> = {
      [AUTH_HEADERS.key]: key,
      [AUTH_HEADERS.timestamp]: String(facts.timestamp),
      [AUTH_HEADERS.nonce]: facts.nonce,
      [AUTH_HEADERS.signature]: encodeSignature(sig),
    };
    if (facts.app_id !== null) headers[AUTH_HEADERS.app] = facts.app_id;
    return headers;
  }
  return { bodySha256, newNonce, signRequest };
}
