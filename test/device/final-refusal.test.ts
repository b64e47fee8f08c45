/**
 * Final refusals in the hub (in-memory twins, manual clock): which codes
 * close a socket for good and when, and the pacing that slows a client that
 * reconnects after them anyway (the reference Python client does).
 */
import { describe, expect, it } from 'vitest';
import { RefusalPacer } from '../../gateway/core/refusal-pacer.js';
import { isFinalClose } from '../../protocol/frames.js';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('refusal pacer', () => {
  it('answers the first refusal at once, then doubles from 500 ms to 8 s; forgets after a quiet minute', () => {
    const p = new RefusalPacer();
    const delays = Array.from({ length: 8 }, (_, i) => p.delay('10.0.0.1', 'app', i * 100));
    expect(delays).toEqual([0, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
    expect(p.delay('10.0.0.2', 'app', 800)).toBe(0);
    expect(p.delay('10.0.0.1', 'other', 800)).toBe(0);
    expect(p.delay('10.0.0.1', 'app', 700 + 60_001)).toBe(0);
  });

  it('remembers at most maxEntries pairs, the least recently refused forgotten first', () => {
    const p = new RefusalPacer({ maxEntries: 3 });
    for (const a of ['a', 'b', 'c']) p.delay('r', a, 0);
    p.delay('r', 'a', 1); // a is now the most recent
    p.delay('r', 'd', 2); // b goes
    expect(p.size).toBe(3);
    expect(p.delay('r', 'b', 3)).toBe(0);
    expect(p.delay('r', 'a', 4)).toBe(1000);
  });
});

describe('final refusals in the hub', () => {
  it('a refused register on an empty socket: error frame, final close naming the app; on a socket carrying another app: error only', () => {
    const h = makeHarness({ minSecLevel: 'signed' });
    const c = h.connect();
    const plain = new Device(crypto.randomUUID(), 'open');
    c.frame(plain.register());
    expect(c.last()).toMatchObject({ type: 'error', code: 'tier_mismatch', app_id: plain.appId });
    expect(c.closed).toEqual({ code: 4426, reason: `tier_mismatch ${plain.appId}` });
    expect(isFinalClose(c.closed!.code)).toBe(true);

    const { c: shared } = h.registered(new Device(crypto.randomUUID(), 'signed'));
    const other = new Device(crypto.randomUUID(), 'open');
    shared.frame(other.register());
    expect(shared.last()).toMatchObject({ type: 'error', code: 'tier_mismatch', app_id: other.appId });
    expect(shared.closed).toBeUndefined();
  });

  it('retryable refusals never close with a final code', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame({ type: 're_register', app_id: d.appId, last_seq: 0, pub_key: d.pubKey });
    c.frame(d.message({ x: 1 }));
    expect(c.ofType('error').map((e) => e.code)).toEqual(['registration_failed', 'not_registered']);
    expect(c.closed).toBeUndefined();
  });

  it('a client that keeps coming back after a final refusal waits longer each time; nothing is stored', () => {
    const h = makeHarness({ minSecLevel: 'signed' });
    const plain = new Device(crypto.randomUUID(), 'open');
    const heardAfter: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = h.connect();
      c.frame(plain.register());
      let waited = 0;
      while (!c.closed && waited < 20_000) {
        h.clock.advance(100);
        waited += 100;
      }
      heardAfter.push(c.closed ? waited : -1);
      expect(c.ofType('error').map((e) => e.code)).toEqual(['tier_mismatch']);
    }
    // The first at once, then 0.5, 1, 2, 4, 8 s: the reference client, waiting 10 s for an answer, slows to one try in 8 s.
    expect(heardAfter).toEqual([0, 500, 1000, 2000, 4000, 8000]);
    expect(h.store.getApp(plain.appId)).toBeUndefined();
  });
});
