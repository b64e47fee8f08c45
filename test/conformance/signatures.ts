/**
 * The signing rule of docs/PROTOCOL.md, written here again on purpose rather
 * than imported from protocol/signing.ts: a conformance suite that
 * shares the implementation's code cannot notice when that code drifts from
 * the rule.
 *
 *   sig = "ed25519:" + base64( Ed25519( "TRAILS-SIG-V1\n" + JCS(frame without "sig") ) )
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';

const DOMAIN = 'TRAILS-SIG-V1\n';

export interface SigningKey {
  readonly publicKeyText: string;
  /** The `sig` value for this frame (any existing `sig` member is ignored). */
  sign(frame: object): string;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    publicKeyText: `ed25519:${raw.toString('base64')}`,
    sign: (frame) => `ed25519:${sign(null, signingInput(frame), privateKey).toString('base64')}`,
  };
}

/** True when `frame.sig` is a valid signature of the frame by `publicKeyText`. */
export function verifiesWith(frame: object, publicKeyText: string): boolean {
  const sig = (frame as { sig?: unknown }).sig;
  if (typeof sig !== 'string' || !sig.startsWith('ed25519:')) return false;
  const key = publicKeyFromText(publicKeyText);
  if (!key) return false;
  return verify(null, signingInput(frame), key, Buffer.from(sig.slice(8), 'base64'));
}

function signingInput(frame: object): Buffer {
  const { sig: _omit, ...rest } = frame as Record<string, unknown>;
  const text = canonicalize(rest);
  if (text === undefined) throw new TypeError('frame has no JSON form');
  return Buffer.from(DOMAIN + text, 'utf8');
}

function publicKeyFromText(text: string): KeyObject | undefined {
  if (!text.startsWith('ed25519:')) return undefined;
  const raw = Buffer.from(text.slice(8), 'base64');
  if (raw.length !== 32) return undefined;
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}
