/**
 * Our RFC 8785 writer against the `canonicalize` package (by one of the RFC's
 * authors) as the oracle, on random JSON and on the RFC's edge cases.
 */
import oracle from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalizeWithout } from '../../protocol/canonical.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', 'ö', '€', '✓', '\u2028', '😀', '\ud834\udd1e', 'ﬀ'];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, 333333333.3333333, -1.5e-10, 2 ** 53];

function value(r: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const str = (): string => Array.from({ length: Math.floor(r() * 6) }, () => pick(CHARS)).join('');
  const k = depth > 3 ? Math.floor(r() * 4) : Math.floor(r() * 6);
  switch (k) {
    case 0: return pick([null, true, false]);
    case 1: return r() < 0.5 ? pick(NUMBERS) : (r() - 0.5) * 10 ** Math.floor(r() * 30 - 10);
    case 2: return str();
    case 3: return Math.floor(r() * 2 ** 31);
    case 4: return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, () => [str(), value(r, depth + 1)]));
  }
}

describe('canonicalize (RFC 8785)', () => {
  it('agrees with the oracle on 5,000 random JSON values', () => {
    const r = rng(8785);
    for (let i = 0; i < 5000; i++) {
      const v = value(r, 0);
      expect(canonicalize(v), JSON.stringify(v)).toBe(oracle(v));
    }
  });

  it('sorts members by UTF-16 code units and writes numbers in their shortest form', () => {
    const v = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    expect(canonicalize(v)).toBe(oracle(v));
    expect(canonicalize({ n: [-0, 1e21, 1e-7, 5e-324] })).toBe('{"n":[0,1e+21,1e-7,5e-324]}');
  });

  it('leaves out undefined members, writes null for undefined items, and uses toJSON', () => {
    expect(canonicalize({ b: undefined, a: [undefined, () => 1], d: new Date(0) })).toBe('{"a":[null,null],"d":"1970-01-01T00:00:00.000Z"}');
  });

  it('refuses what has no canonical form', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalize({ x: Infinity })).toThrow(TypeError);
    expect(() => canonicalize('\ud800')).toThrow(/lone surrogate/);
    expect(() => canonicalize({ ['\udc00']: 1 })).toThrow(/lone surrogate/);
    expect(() => canonicalize(10n)).toThrow(/BigInt/);
    expect(() => canonicalize(undefined)).toThrow(/no JSON form/);
  });

  it('writes an object without one member as the oracle writes the copy without it', () => {
    const r = rng(25519);
    for (let i = 0; i < 1000; i++) {
      const v = { sig: 'x', type: 'message', n: i, body: value(r, 1), [`k${i}`]: value(r, 2) };
      const { sig: _sig, ...rest } = v;
      expect(canonicalizeWithout(v, 'sig')).toBe(oracle(rest));
      expect(canonicalizeWithout(v, 'absent')).toBe(oracle(v));
    }
    // Past the bound of remembered member names (1,000 distinct names above), names are still escaped right.
    expect(canonicalize({ ['q"\\\n']: 1 })).toBe(oracle({ ['q"\\\n']: 1 }));
    // A name too long to remember is written all the same.
    const long = '\u00e9'.repeat(10_000);
    expect(canonicalizeWithout({ [long]: 1, sig: 2 }, 'sig')).toBe(oracle({ [long]: 1 }));
  });
});
