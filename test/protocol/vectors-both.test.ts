import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../gateway/crypto/node-crypto.js';
import { nobleCrypto } from '../../protocol/crypto-noble.js';
import type { TrailsCrypto } from '../../protocol/crypto.js';
import { checkSealedVectors, checkSigningVectors, type SealedVectors, type SigningVectors } from '../../protocol/vectors.js';

const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../docs/vectors/${name}`, import.meta.url), 'utf8')) as T;
const signing = read<SigningVectors>('signing.json');
const sealed = read<SealedVectors>('sealed.json');

describe.each([nodeCrypto, nobleCrypto] as TrailsCrypto[])('every vector file on $name', (crypto) => {
  it('signing.json: keys, signing inputs, signatures, verification', () => {
    expect(signing.cases.length).toBeGreaterThan(0);
    expect(checkSigningVectors(signing, crypto)).toEqual([]);
  });

  it('sealed.json: key schedule and every sealed frame', () => {
    expect(sealed.frames.length).toBeGreaterThan(0);
    expect(checkSealedVectors(sealed, crypto)).toEqual([]);
  });

  it('a vector with one bit changed fails', () => {
    const c = signing.cases[0]!;
    const flipped = { ...signing, cases: [{ ...c, sig: c.sig.replace(/^ed25519:(.)/, (_m, ch: string) => `ed25519:${ch === 'A' ? 'B' : 'A'}`) }] };
    expect(checkSigningVectors(flipped, crypto)).not.toEqual([]);
    const f = sealed.frames[0]!;
    const tampered = { ...sealed, frames: [{ ...f, sealed_hex: f.sealed_hex.slice(0, -2) + (f.sealed_hex.endsWith('00') ? '01' : '00') }] };
    expect(checkSealedVectors(tampered, crypto)).not.toEqual([]);
  });
});
