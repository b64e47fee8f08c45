import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { decodePublicKey, decodeSignature } from '../../protocol/keys.js';
import { vectors } from './make-vectors.js';

const committed = JSON.parse(readFileSync(new URL('../../docs/vectors/signing.json', import.meta.url), 'utf8')) as ReturnType<typeof parse>;
function parse(v: unknown) {
  return v as { device: { seed_hex: string; public_key: string }; gateway: { seed_hex: string; public_key: string }; cases: Array<{ signer: 'device' | 'gateway'; signing_input: string; sig: string }> };
}

describe('signing test vectors (docs/vectors/signing.json)', () => {
  it('the committed vectors are what the code produces', () => {
    expect(JSON.parse(JSON.stringify(vectors()))).toEqual(committed);
  });

  it('an independent Ed25519 (noble-curves) agrees with every vector', () => {
    for (const who of ['device', 'gateway'] as const) {
      const pub = ed25519.getPublicKey(Buffer.from(committed[who].seed_hex, 'hex'));
      expect(Buffer.from(pub)).toEqual(Buffer.from(decodePublicKey(committed[who].public_key)!));
    }
    for (const c of committed.cases) {
      const pub = decodePublicKey(committed[c.signer].public_key)!;
      const sig = decodeSignature(c.sig)!;
      expect(ed25519.verify(sig, Buffer.from(c.signing_input, 'utf8'), pub)).toBe(true);
      expect(ed25519.verify(sig, Buffer.from(`${c.signing_input} `, 'utf8'), pub)).toBe(false);
    }
  });
});
