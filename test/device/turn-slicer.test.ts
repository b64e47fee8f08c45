import { describe, expect, it } from 'vitest';
import { TurnSlicer, type SlicerPorts } from '../../gateway/device/turn-slicer.js';

/** A clock that each event advances by its cost, and a check phase the test runs by hand. */
function ports(): SlicerPorts & { t: number; checks: Array<() => void>; check(): void } {
  const p = {
    t: 0,
    checks: [] as Array<() => void>,
    now: () => p.t,
    defer: (fn: () => void) => void p.checks.push(fn),
    check: () => p.checks.splice(0).forEach((fn) => fn()),
  };
  return p;
}

describe('TurnSlicer', () => {
  it('runs events at once within the budget, then queues them in order and runs them in slices', () => {
    const p = ports();
    const s = new TurnSlicer(5, p);
    const ran: number[] = [];
    const event = (n: number, cost: number) => () => {
      p.t += cost;
      ran.push(n);
    };
    s.run(event(1, 2));
    s.run(event(2, 2));
    s.run(event(3, 2)); // 6 ms spent: the budget is gone after this one
    s.run(event(4, 2));
    s.run(event(5, 2));
    s.run(event(6, 2));
    s.run(event(7, 2));
    expect(ran).toEqual([1, 2, 3]);
    expect(s.waiting).toBe(4);
    p.check(); // slice 1: 4, 5, 6 (6 ms)
    expect(ran).toEqual([1, 2, 3, 4, 5, 6]);
    s.run(event(8, 1)); // waits behind 7, even though the new turn has budget
    expect(ran).toEqual([1, 2, 3, 4, 5, 6]);
    p.check();
    expect(ran).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(s.waiting).toBe(0);
    p.check();
    s.run(event(9, 1)); // a fresh turn with nothing waiting: at once
    expect(ran.at(-1)).toBe(9);
    expect(s.stats).toMatchObject({ immediate: 4, deferred: 5 });
  });

  it('an event that throws does not lose the events behind it', () => {
    const p = ports();
    const s = new TurnSlicer(1, p);
    const ran: string[] = [];
    s.run(() => void (p.t += 2));
    s.run(() => {
      throw new Error('boom');
    });
    s.run(() => void ran.push('after'));
    expect(() => p.check()).toThrow('boom');
    p.check();
    expect(ran).toEqual(['after']);
  });
});
