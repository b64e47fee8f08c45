/**
 * Store contract for the request nonces of signed REST calls (migration v2):
 * a nonce is held once per key until it expires, and pruning forgets only
 * expired ones.
 */
import { expect, it } from 'vitest';
import type { GatewayStore } from '../../gateway/store/types.js';

const KEY = 'ed25519:AAAA';
const OTHER = 'ed25519:BBBB';

export function nonceContract(s: () => GatewayStore): void {
  const claim = (key: string, nonce: string, exp: number, now: number): boolean =>
    s().transaction((w) => w.claimNonce(key, nonce, exp, now));

  it('claims a nonce once per key until it expires', () => {
    expect(claim(KEY, 'n-1', 1_000, 0)).toBe(true);
    expect(claim(KEY, 'n-1', 2_000, 999)).toBe(false);
    expect(claim(OTHER, 'n-1', 1_000, 0)).toBe(true);
    expect(claim(KEY, 'n-2', 1_000, 0)).toBe(true);
    // At its expiry the nonce is free again, even before a prune.
    expect(claim(KEY, 'n-1', 5_000, 1_000)).toBe(true);
    expect(claim(KEY, 'n-1', 6_000, 4_999)).toBe(false);
  });

  it('prunes expired nonces only', () => {
    claim(KEY, 'a', 100, 0);
    claim(KEY, 'b', 200, 0);
    claim(OTHER, 'c', 300, 0);
    expect(s().transaction((w) => w.pruneNonces(200))).toBe(2);
    expect(s().transaction((w) => w.pruneNonces(200))).toBe(0);
    expect(claim(KEY, 'a', 900, 250)).toBe(true);
    expect(claim(OTHER, 'c', 900, 250)).toBe(false);
  });

  it('a claim rolled back with its transaction leaves no nonce', () => {
    expect(() =>
      s().transaction((w) => {
        w.claimNonce(KEY, 'r', 1_000, 0);
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(claim(KEY, 'r', 1_000, 0)).toBe(true);
  });
}
