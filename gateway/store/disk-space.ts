/**
 * Free space of the data directory's file system, polled on a timer (never
 * per frame). Below the reserve the gateway refuses new data (data.ts) while
 * it still registers devices, delivers controls and acks what it holds, so a
 * full disk never stops the box itself; /healthz and the API show the figures
 * before it comes to that.
 */
import { statfsSync } from 'node:fs';
import type { Clock, Timer } from '../ports/clock.js';

export interface SpaceFigures {
  free_bytes: number | null;
  total_bytes: number | null;
  reserve_bytes: number;
  low_space: boolean;
}

export type StatFs = (path: string) => { bavail: number | bigint; blocks: number | bigint; bsize: number | bigint };

export class DiskSpace {
  private figures: SpaceFigures;
  private timer?: Timer;

  constructor(
    private readonly dir: string,
    readonly reserveBytes: number,
    private readonly onChange: (f: SpaceFigures) => void = () => {},
    private readonly statfs: StatFs = statfsSync,
  ) {
    this.figures = { free_bytes: null, total_bytes: null, reserve_bytes: reserveBytes, low_space: false };
  }

  get low(): boolean {
    return this.figures.low_space;
  }

  get state(): SpaceFigures {
    return { ...this.figures };
  }

  /** Reads the figures now; a file system that cannot be asked counts as not low (the commit itself still fails cleanly). */
  poll(): void {
    let next: SpaceFigures;
    try {
      const s = this.statfs(this.dir);
      const free = Number(s.bavail) * Number(s.bsize);
      next = { free_bytes: free, total_bytes: Number(s.blocks) * Number(s.bsize), reserve_bytes: this.reserveBytes, low_space: free < this.reserveBytes };
    } catch {
      next = { free_bytes: null, total_bytes: null, reserve_bytes: this.reserveBytes, low_space: false };
    }
    const changed = next.low_space !== this.figures.low_space;
    this.figures = next;
    if (changed) this.onChange(this.state);
  }

  start(clock: Clock, everyMs: number): void {
    this.poll();
    this.timer = clock.every(everyMs, () => this.poll());
  }

  stop(): void {
    this.timer?.cancel();
  }
}
