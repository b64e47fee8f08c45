/**
 * Signed REST and watch requests (docs/API.md "Authentication"). The gateway
 * verifies with the same `requestSigningInput`, and the CLI and tests sign
 * with `signRequest`, so both sides build one byte string from one function:
 *
 *   UTF-8( "TRAILS-REQ-V1\n" + JCS({method, path, timestamp, nonce,
 *                                   body_sha256, key, app_id}) )
 *
 * `path` is the request target exactly as sent (path and query string), and
 * `body_sha256` the hex SHA-256 of the raw body bytes, so neither the target
 * nor the body can be changed; timestamp and nonce make a replay detectable.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { privateKeyObject, sign } from '../crypto/ed25519.js';
import { canonicalize } from '../../protocol/canonical.js';
import { encodePublicKey, encodeSignature } from '../../protocol/keys.js';

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

export function bodySha256(body: Uint8Array | string | undefined | null): string {
  return createHash('sha256').update(body ?? '').digest('hex');
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
  return Buffer.from(REQ_DOMAIN + canonicalize(facts), 'utf8');
}

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
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

/** The X-Trails-* headers for one request. Sign each request anew: a nonce is accepted once. */
export function signRequest(input: SignRequestInput): Record<string, string> {
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
  const sig = sign(requestSigningInput(facts), privateKeyObject(input.key.secretKey));
  const headers: Record<string, string> = {
    [AUTH_HEADERS.key]: key,
    [AUTH_HEADERS.timestamp]: String(facts.timestamp),
    [AUTH_HEADERS.nonce]: facts.nonce,
    [AUTH_HEADERS.signature]: encodeSignature(sig),
  };
  if (facts.app_id !== null) headers[AUTH_HEADERS.app] = facts.app_id;
  return headers;
}
