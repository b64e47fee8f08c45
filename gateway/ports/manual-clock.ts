/** The in-memory twin of Clock: time moves only when a test calls advance(). */
import type { Clock, Timer } from './clock.js';

interface Pending {
  at: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private pending: Pending[] = [];

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  after(ms: number, fn: () => void): Timer {
    return this.add({ at: this.current + ms, fn, cancelled: false });
  }

  every(ms: number, fn: () => void): Timer {
    return this.add({ at: this.current + ms, fn, every: ms, cancelled: false });
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.pending.filter((p) => !p.cancelled && p.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.current = next.at;
      if (next.every) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.current = end;
    this.pending = this.pending.filter((p) => !p.cancelled);
  }

  private add(p: Pending): Timer {
    this.pending.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }
}
