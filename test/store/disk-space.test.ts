import { describe, expect, it } from 'vitest';
import { DiskSpace } from '../../gateway/store/disk-space.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';

describe('DiskSpace', () => {
  it('is low below the reserve, says so once per change, and polls on the clock only', () => {
    let free = 100;
    let asked = 0;
    const changes: boolean[] = [];
    const space = new DiskSpace('/data', 50 * 4096, (f) => changes.push(f.low_space), () => {
      asked++;
      return { bavail: free, blocks: 1000, bsize: 4096 };
    });
    const clock = new ManualClock(0);
    space.start(clock, 5000);
    expect(space.state).toEqual({ free_bytes: 100 * 4096, total_bytes: 1000 * 4096, reserve_bytes: 50 * 4096, low_space: false });
    free = 49;
    clock.advance(4999);
    expect(space.low).toBe(false);
    clock.advance(1);
    expect(space.low).toBe(true);
    clock.advance(5000);
    free = 60;
    clock.advance(5000);
    expect(space.low).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(asked).toBe(4);
    space.stop();
  });

  it('a file system that cannot be asked is not low, and shows no figures', () => {
    const space = new DiskSpace('/gone', 1, undefined, () => {
      throw new Error('ENOENT');
    });
    space.poll();
    expect(space.state).toEqual({ free_bytes: null, total_bytes: null, reserve_bytes: 1, low_space: false });
  });
});
