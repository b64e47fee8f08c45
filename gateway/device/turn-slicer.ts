/**
 * Keeps each turn of the event loop short under load.
 *
 * Node accepts one new connection per turn of its event loop (libuv returns
 * to epoll after every accept), and one turn reads every socket that has
 * data. With a thousand devices sending flat out, a turn held thousands of
 * frames and lasted a hundred milliseconds or more, so after a restart the
 * devices still waiting in the accept queue came in at about fifteen a
 * second (bench: restart storm).
 *
 * The slicer runs socket events at once until the work done since the last
 * check phase passes `budgetMs`; later events wait in one FIFO (so a
 * connection's frames, and its close, keep their order) and run in slices of
 * `budgetMs` between turns. Each slice is a turn of its own, and each turn
 * lets one more device in.
 */

export interface SlicerPorts {
  /** Monotonic milliseconds (performance.now). */
  now(): number;
  /** Runs `fn` in the check phase of this turn (setImmediate). */
  defer(fn: () => void): void;
}

export class TurnSlicer {
  private readonly queue: Array<() => void> = [];
  /** Time spent running events since the last check phase. */
  private spent = 0;
  private scheduled = false;
  readonly stats = { immediate: 0, deferred: 0, slices: 0 };

  constructor(private readonly budgetMs: number, private readonly ports: SlicerPorts = realPorts) {}

  /** Runs `event` now, or after the events already waiting. */
  run(event: () => void): void {
    if (this.queue.length > 0 || this.spent >= this.budgetMs) {
      this.queue.push(event);
      this.stats.deferred++;
    } else {
      const t0 = this.ports.now();
      try {
        event();
      } finally {
        this.spent += this.ports.now() - t0;
        this.stats.immediate++;
      }
    }
    this.schedule();
  }

  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.ports.defer(() => this.slice());
  }

  /** A check phase: the budget starts again, and waiting events get one slice of it. */
  private slice(): void {
    this.scheduled = false;
    this.spent = 0;
    if (this.queue.length === 0) return;
    this.stats.slices++;
    const start = this.ports.now();
    let i = 0;
    try {
      while (i < this.queue.length) {
        this.queue[i++]!();
        if (this.ports.now() - start >= this.budgetMs) break;
      }
    } finally {
      this.queue.splice(0, i);
      // The next poll phase starts with a fresh budget; what is left waits for the next slice.
      if (this.queue.length > 0) this.schedule();
    }
  }
}

const realPorts: SlicerPorts = {
  now: () => performance.now(),
  defer: (fn) => void setImmediate(fn),
};
