/**
 * Device frames refused for a key they could not prove (a register with
 * another key than the app's, a first contact with a MAC pinned to another
 * key). The first refusal of each (address, outcome, app or MAC, presented
 * key) in an interval is written in full: it carries the keys an operator
 * needs to tell a cloned device from a swapped one. Its repeats are only
 * counted (refusal-tally.ts), so a stranger who repeats one refusal cannot
 * grow the disk by a row a frame (issue 11). The set of keys seen is
 * bounded; past it every refusal is counted.
 */
import type { Clock } from '../ports/clock.js';
import type { NewAudit } from '../store/types.js';
import type { RefusalTally } from './refusal-tally.js';

export interface DeviceRefusalOptions {
  intervalMs: number;
  /** Distinct refusals written in full per interval. */
  maxEntries: number;
}

export class DeviceRefusalAudit {
  private seen = new Set<string>();
  private windowStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly write: (row: NewAudit) => void,
    private readonly tally: RefusalTally,
    private readonly opts: DeviceRefusalOptions,
  ) {}

  /** `subject`: what the refusal is about beyond the row's target (the MAC, or the presented key). */
  record(row: NewAudit, subject: string): void {
    const now = this.clock.now();
    if (now - this.windowStart >= this.opts.intervalMs) {
      this.seen.clear();
      this.windowStart = now;
    }
    const key = `${row.source_ip ?? ''}\u0000${row.outcome}\u0000${row.target_app_id ?? ''}\u0000${subject}`;
    if (!this.seen.has(key) && this.seen.size < this.opts.maxEntries) {
      this.seen.add(key);
      return this.write(row);
    }
    this.tally.record({ source: row.source_ip, action: row.action, outcome: row.outcome, method: 'WS', url: '/ws', userAgent: null });
  }
}
