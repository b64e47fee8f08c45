import { readFileSync } from 'node:fs';
import { hkdfSync } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 as nobleX } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { sealedVectors } from './make-sealed-vectors.js';

interface V {
  app_id: string;
  device: { x25519_secret_hex: string; x25519_public_hex: string };
  gateway: { x25519_secret_hex: string; x25519_public_hex: string };
  child_ephemeral: { secret_hex: string };
  server_ephemeral: { secret_hex: string };
  k_c2s_hex: string;
  k_s2c_hex: string;
  frames: Array<{ direction: 'c2s' | 's2c'; seq: number; plaintext: string; sealed_hex: string }>;
}
const v = JSON.parse(readFileSync(new URL('../../docs/vectors/sealed.json', import.meta.url), 'utf8')) as V;
const h = (s: string): Uint8Array => Buffer.from(s, 'hex');

describe('encrypted tier vectors (docs/vectors/sealed.json)', () => {
  it('the committed vectors are what the code produces', () => {
    expect(JSON.parse(JSON.stringify(sealedVectors()))).toEqual(v);
  });

  it('an independent implementation (noble X25519 + ChaCha20-Poly1305, node HKDF) derives the same keys and opens every frame', () => {
    const ce = h(v.child_ephemeral.secret_hex);
    const ikm = Buffer.concat([
      nobleX.getSharedSecret(ce, nobleX.getPublicKey(h(v.server_ephemeral.secret_hex))),
      nobleX.getSharedSecret(h(v.device.x25519_secret_hex), nobleX.getPublicKey(h(v.server_ephemeral.secret_hex))),
      nobleX.getSharedSecret(ce, h(v.gateway.x25519_public_hex)),
    ]);
    const okm = Buffer.from(hkdfSync('sha256', ikm, Buffer.from(v.app_id), Buffer.from('trails-v1'), 64));
    expect(okm.subarray(0, 32).toString('hex')).toBe(v.k_c2s_hex);
    expect(okm.subarray(32).toString('hex')).toBe(v.k_s2c_hex);
    for (const f of v.frames) {
      const frame = h(f.sealed_hex);
      const header = frame.subarray(0, 8);
      expect(Buffer.from(header).readBigUInt64BE()).toBe(BigInt(f.seq));
      const nonce = Buffer.concat([Buffer.alloc(4), header]);
      const key = h(f.direction === 'c2s' ? v.k_c2s_hex : v.k_s2c_hex);
      const plain = chacha20poly1305(key, nonce, header).decrypt(frame.subarray(8));
      expect(Buffer.from(plain).toString()).toBe(f.plaintext);
    }
  });
});
