import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromBase64Loose, fromHex, readU64BE, toBase64, toBase64Url, toHex, writeU64BE } from '../../protocol/bytes.js';

/** What keys.ts did with Buffer before protocol/ left Node: decode, and accept only the text it encodes back to. */
const bufferStrict = (text: string): Buffer | undefined => {
  const b = Buffer.from(text, 'base64');
  return b.toString('base64') === text ? b : undefined;
};
const base64ish = fc.string({ unit: fc.constantFrom(...'ABCDQgw+/aZz09=-_ '.split('')), maxLength: 48 });

describe('protocol/bytes.ts agrees with Node Buffer', () => {
  it('encodes base64, base64url and hex as Buffer does', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      expect(toBase64Url(b)).toBe(Buffer.from(b).toString('base64url'));
      expect(toHex(b)).toBe(Buffer.from(b).toString('hex'));
      expect(fromHex(toHex(b))).toEqual(b);
    }));
  });

  it('strict base64 accepts exactly the texts Buffer decodes and encodes back to', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      expect(fromBase64(Buffer.from(b).toString('base64'))).toEqual(new Uint8Array(b));
    }));
    fc.assert(fc.property(base64ish, (text) => {
      const ref = bufferStrict(text);
      const got = fromBase64(text);
      expect(got === undefined ? undefined : Buffer.from(got)).toEqual(ref);
    }), { numRuns: 2000 });
    expect(fromBase64('QQ==')).toEqual(new Uint8Array([65]));
    expect(fromBase64('QR==')).toBeUndefined(); // nonzero padding bits
    expect(fromBase64('QQ')).toBeUndefined();
  });

  it('loose base64 reads what Buffer reads when there is no padding in the middle', () => {
    fc.assert(fc.property(base64ish.map((t) => t.replace(/=/g, '')), fc.constantFrom('', '=', '=='), (text, pad) => {
      expect(Buffer.from(fromBase64Loose(text + pad))).toEqual(Buffer.from(text + pad, 'base64'));
    }), { numRuns: 2000 });
  });

  it('u64 big-endian round trip', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
      const b = writeU64BE(n);
      const ref = Buffer.alloc(8);
      ref.writeBigUInt64BE(n);
      expect(Buffer.from(b)).toEqual(ref);
      expect(readU64BE(b)).toBe(n);
    }));
  });
});
