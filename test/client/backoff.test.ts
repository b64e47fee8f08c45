import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../client/backoff.js';

describe('backoffDelay (spec §19)', () => {
  it('doubles from 100 ms and caps at 30 s, with no jitter when random() is 0', () => {
    const d = [0, 1, 2, 3, 8, 9, 20, 5000].map((a) => backoffDelay(a, () => 0));
    expect(d).toEqual([100, 200, 400, 800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('adds at most half the delay as jitter', () => {
    const almostOne = 0.999999;
    for (let a = 0; a < 20; a++) {
      const base = Math.min(100 * 2 ** a, 30_000);
      const lo = backoffDelay(a, () => 0);
      const hi = backoffDelay(a, () => almostOne);
      expect(lo).toBe(base);
      expect(hi).toBeGreaterThan(base);
      expect(hi).toBeLessThanOrEqual(base * 1.5);
      const mid = backoffDelay(a, () => 0.5);
      expect(mid).toBe(Math.round(base * 1.25));
    }
    expect(backoffDelay(100, () => almostOne)).toBeLessThanOrEqual(45_000);
  });

  it('stays within bounds for any random value', () => {
    for (let i = 0; i < 1000; i++) {
      const a = i % 25;
      const d = backoffDelay(a);
      const base = Math.min(100 * 2 ** a, 30_000);
      expect(d).toBeGreaterThanOrEqual(base);
      expect(d).toBeLessThanOrEqual(base * 1.5);
    }
  });
});
