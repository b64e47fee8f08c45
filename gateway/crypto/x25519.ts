/**
 * X25519 for the encrypted tier (addendum 0 §A0.5). Diffie-Hellman runs on
 * node:crypto (OpenSSL), far faster than pure JS; the birational map from a
 * device's Ed25519 identity to its X25519 key (RFC 7748 §4.1, libsodium's
 * crypto_sign_ed25519_*_to_curve25519) comes from noble-curves.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import type { X25519KeyPair } from '../../protocol/crypto.js';
import { ed25519 } from '@noble/curves/ed25519.js';

const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export type { X25519KeyPair };

export function generateX25519(): X25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    secretKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length)),
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
  };
}

/** X25519(secret, public). Throws on a low-order public key (an all-zero shared secret). */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32 || publicKey.length !== 32) throw new TypeError('X25519 keys are 32 bytes');
  const shared = diffieHellman({
    privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  });
  if (shared.every((b) => b === 0)) throw new Error('X25519 gave the all-zero secret: low-order public key');
  return new Uint8Array(shared);
}

/** The X25519 public key of an Ed25519 public key. */
export function edPublicToX25519(edPublicKey: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(edPublicKey);
}

/** The X25519 secret key of an Ed25519 seed. */
export function edSecretToX25519(edSeed: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(edSeed);
}
