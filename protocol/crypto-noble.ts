/**
 * TrailsCrypto on @noble (audited pure JS): runs in a browser, in the device
 * client and in the tests as an implementation independent of OpenSSL.
 * Key handles are the raw bytes.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { Ed25519KeyPair, TrailsCrypto } from './crypto.js';

function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  assertLength(seed, 32, 'Ed25519 seed');
  return { secretKey: new Uint8Array(seed), publicKey: ed25519.getPublicKey(seed) };
}

export const nobleCrypto: TrailsCrypto<Uint8Array, Uint8Array> = {
  name: 'noble',
  ed25519: {
    generateKeyPair: () => keyPairFromSeed(randomBytes(32)),
    keyPairFromSeed,
    signingKey: (seed) => (assertLength(seed, 32, 'Ed25519 seed'), seed),
    verifyingKey: (publicKey) => (assertLength(publicKey, 32, 'Ed25519 public key'), publicKey),
    sign: (message, seed) => ed25519.sign(message, seed),
    verify(message, signature, publicKey) {
      if (signature.length !== 64) return false;
      try {
        return ed25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
  },
  x25519: {
    generateKeyPair() {
      const secretKey = x25519.utils.randomSecretKey();
      return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
    },
    sharedSecret(secretKey, publicKey) {
      if (secretKey.length !== 32 || publicKey.length !== 32) throw new TypeError('X25519 keys are 32 bytes');
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(secretKey, publicKey);
      } catch {
        shared = new Uint8Array(32);
      }
      if (shared.every((b) => b === 0)) throw new Error('X25519 gave the all-zero secret: low-order public key');
      return shared;
    },
    fromEd25519Public: (edPublicKey) => ed25519.utils.toMontgomery(edPublicKey),
    fromEd25519Secret: (edSeed) => ed25519.utils.toMontgomerySecret(edSeed),
  },
  chacha20Poly1305: {
    seal: (key, nonce, plaintext, aad) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
    open(key, nonce, sealed, aad) {
      try {
        return chacha20poly1305(key, nonce, aad).decrypt(sealed);
      } catch {
        return undefined;
      }
    },
  },
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  hmacSha256: (key, message) => hmac(sha256, key, message),
  sha256: (message) => sha256(message),
  randomBytes: (length) => randomBytes(length),
};

function assertLength(bytes: Uint8Array, n: number, label: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new TypeError(`${label} must be ${n} bytes, got ${bytes?.length ?? typeof bytes}`);
  }
}
