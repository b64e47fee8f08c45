/**
 * TrailsCrypto on node:crypto (OpenSSL): the gateway's implementation, since
 * it verifies and seals several times faster than pure JS where the gateway
 * is hot (bench/crypto.bench.ts, bench/verify.ts). Ed25519 handles are
 * KeyObjects, prepared once per key. The Ed25519 → X25519 maps come from
 * noble-curves (OpenSSL has none).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { TrailsCrypto } from '../../protocol/crypto.js';
import { generateKeyPair, keyPairFromSeed, privateKeyObject, publicKeyObject, sign, verify } from './ed25519.js';
import { edPublicToX25519, edSecretToX25519, generateX25519, x25519 } from './x25519.js';

const TAG = 16;

export const nodeCrypto: TrailsCrypto<KeyObject, KeyObject> = {
  name: 'node:crypto',
  ed25519: { generateKeyPair, keyPairFromSeed, signingKey: privateKeyObject, verifyingKey: publicKeyObject, sign, verify },
  x25519: { generateKeyPair: generateX25519, sharedSecret: x25519, fromEd25519Public: edPublicToX25519, fromEd25519Secret: edSecretToX25519 },
  chacha20Poly1305: {
    seal(key, nonce, plaintext, aad) {
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      return Buffer.concat([body, cipher.getAuthTag()]);
    },
    open(key, nonce, sealed, aad) {
      if (sealed.length < TAG) return undefined;
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
      decipher.setAAD(aad, { plaintextLength: sealed.length - TAG });
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
      try {
        decipher.final();
      } catch {
        return undefined;
      }
      return body;
    },
  },
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),
  hmacSha256: (key, message) => createHmac('sha256', key).update(message).digest(),
  sha256: (message) => createHash('sha256').update(message).digest(),
  randomBytes: (length) => randomBytes(length),
};
