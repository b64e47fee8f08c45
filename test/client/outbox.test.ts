import { describe, expect, it } from 'vitest';
import type { MsgType } from '../../protocol/frames.js';
import { Outbox, type OutboxEntry } from '../../client/outbox.js';

const e = (seq: number, msgType: MsgType = 'Status'): OutboxEntry => ({ seq, msgType, text: `m${seq}` });

function drain(o: Outbox): number[] {
  const out: number[] = [];
  for (let x = o.takeNext(); x; x = o.takeNext()) out.push(x.seq);
  return out;
}

describe('Outbox', () => {
  it('hands entries out in seq order, once per socket, and again after rewind', () => {
    const o = new Outbox(10);
    for (let i = 1; i <= 5; i++) o.push(e(i));
    expect(drain(o)).toEqual([1, 2, 3, 4, 5]);
    expect(o.inFlight).toBe(5);
    expect(drain(o)).toEqual([]);
    o.ack(2);
    o.ack(4);
    expect(o.inFlight).toBe(3);
    o.rewind();
    expect(o.inFlight).toBe(0);
    expect(drain(o)).toEqual([1, 3, 5]);
    o.push(e(6));
    expect(drain(o)).toEqual([6]);
  });

  it('keeps an entry until it is acked; a repeated ack is harmless', () => {
    const o = new Outbox(10);
    o.push(e(1));
    drain(o);
    expect(o.ack(1)?.seq).toBe(1);
    expect(o.ack(1)).toBeUndefined();
    expect(o.size).toBe(0);
    expect(o.inFlight).toBe(0);
  });

  it('drops the oldest Status when full, never a Result or Error', () => {
    const o = new Outbox(3);
    o.push(e(1, 'Status'));
    o.push(e(2, 'Status'));
    o.push(e(3, 'Status'));
    expect(o.push(e(4, 'Status'))?.seq).toBe(1);
    expect(o.push(e(5, 'Error'))?.seq).toBe(2);
    expect([...o.values()].map((x) => x.seq)).toEqual([3, 4, 5]);
    expect(o.push(e(6, 'Result'))?.seq).toBe(3);
    expect(o.push(e(7, 'Result'))?.seq).toBe(4);
    // Nothing droppable left: a Result still goes in (over capacity), a Status is refused.
    expect(o.push(e(8, 'Result'))).toBeUndefined();
    const refused = e(9, 'Status');
    expect(o.push(refused)).toBe(refused);
    expect([...o.values()].map((x) => x.seq)).toEqual([5, 6, 7, 8]);
  });

  it('counts in-flight entries correctly when a sent one is dropped', () => {
    const o = new Outbox(2);
    o.push(e(1));
    o.push(e(2));
    drain(o);
    o.push(e(3)); // drops 1, which was in flight
    expect(o.inFlight).toBe(1);
    expect(drain(o)).toEqual([3]);
  });
});
