/**
 * A token bucket per key (a remote address): `perMinute` a minute, bursts up
 * to `burst`. Buckets idle long enough to be full again are forgotten, so a
 * scan of many addresses does not grow the map for ever. Pure: time is passed in.
 */
import { TokenBucket } from './rate-limit.js';

export class AddressLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly idleMs = 10 * 60_000,
  ) {}

  take(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { bucket: new TokenBucket(this.perMinute / 60, this.burst, now), used: now }));
    b.used = now;
    return b.bucket.take(now);
  }

  /** Forgets buckets untouched for idleMs. */
  prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.used > this.idleMs) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}
