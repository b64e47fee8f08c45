/**
 * Slows a client that ignores final refusals. The reference Python client
 * reads no close code: refused for good (say tier_mismatch), it reconnects
 * about 8 times a second for ever, each time costing a socket, a lookup and a
 * log line. The first refusal of an app from an address is answered at once;
 * each repeat within `forgetMs` waits twice as long as the one before, from
 * `firstDelayMs` up to `maxDelayMs` (under the 10 s that client waits for an
 * answer, so it waits instead of reconnecting). Pure: time is passed in; at
 * most `maxEntries` pairs are remembered, the oldest forgotten first.
 */
export interface RefusalPacerOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  forgetMs: number;
  maxEntries: number;
}

export const DEFAULT_REFUSAL_PACING: RefusalPacerOptions = { firstDelayMs: 500, maxDelayMs: 8000, forgetMs: 60_000, maxEntries: 10_000 };

export class RefusalPacer {
  private readonly seen = new Map<string, { count: number; last: number }>();
  private readonly o: RefusalPacerOptions;

  constructor(options: Partial<RefusalPacerOptions> = {}) {
    this.o = { ...DEFAULT_REFUSAL_PACING, ...options };
  }

  /** Records a final refusal of `appId` to `remote`; returns how long to hold its answer. */
  delay(remote: string, appId: string, now: number): number {
    const key = `${remote} ${appId}`;
    const prev = this.seen.get(key);
    const count = prev && now - prev.last <= this.o.forgetMs ? prev.count + 1 : 1;
    // Re-inserted, so the map's order is least recently refused first.
    this.seen.delete(key);
    this.seen.set(key, { count, last: now });
    if (this.seen.size > this.o.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    return count === 1 ? 0 : Math.min(this.o.maxDelayMs, this.o.firstDelayMs * 2 ** (count - 2));
  }

  get size(): number {
    return this.seen.size;
  }
}
