/**
 * Ed25519 on node:crypto. Node's OpenSSL binding verifies several times faster
 * than a pure-JS curve, and verify is on the ingest hot path of the signed tier
 * (bench/crypto.bench.ts measures both). Keys travel as raw 32-byte values, so
 * they are wrapped in the fixed DER prefixes that KeyObject expects.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import type { Ed25519KeyPair } from '../../protocol/crypto.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export type { Ed25519KeyPair };

export function generateKeyPair(): Ed25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    secretKey: new Uint8Array(pkcs8.subarray(PKCS8_PREFIX.length)),
    publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
  };
}

export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  assertLength(seed, 32, 'Ed25519 seed');
  const key = privateKeyObject(seed);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return { secretKey: new Uint8Array(seed), publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

export function privateKeyObject(seed: Uint8Array): KeyObject {
  assertLength(seed, 32, 'Ed25519 seed');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  assertLength(raw, 32, 'Ed25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function sign(message: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(nodeSign(null, message, key));
}

/** Never throws: a malformed signature is simply not valid. */
export function verify(message: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

function assertLength(bytes: Uint8Array, n: number, label: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new TypeError(`${label} must be ${n} bytes, got ${bytes?.length ?? typeof bytes}`);
  }
}
