/**
 * One test per crash found in issue 11 ("Nothing a client sends stops the
 * process"), at the hub with in-memory twins: each used to throw out of the
 * hub (and, on a real socket, end the process).
 */
import { describe, expect, it } from 'vitest';
import { Device, makeHarness } from '../support/hub-harness.js';
import { GroupCommitter } from '../../gateway/device/group-commit.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { rowCounts } from './rows.js';

const nest = (n: number): string => '['.repeat(n) + '0' + ']'.repeat(n);

describe('the hub refuses what used to stop the process', () => {
  it('a 20,000-level frame on a fresh, unauthenticated socket: too_complex, and the socket still serves', () => {
    const h = makeHarness();
    const c = h.connect();
    c.frame(nest(20_000));
    expect(c.last()).toMatchObject({ type: 'error', code: 'too_complex' });
    const d = new Device();
    c.frame(d.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered', app_id: d.appId });
  });

  it('the same depth in a message payload, open and signed: too_complex, nothing stored', () => {
    for (const tier of ['open', 'signed'] as const) {
      const h = makeHarness();
      const { c, d } = h.registered(new Device(undefined, tier));
      const before = rowCounts(h.store);
      const text = JSON.stringify(d.message({ v: 1 })).replace('{"v":1}', nest(20_000));
      c.frame(text);
      h.commit();
      expect(c.last(), tier).toMatchObject({ type: 'error', code: 'too_complex' });
      expect(rowCounts(h.store)).toEqual(before);
    }
  });

  it('the same depth in a bootstrap_register: too_complex', () => {
    const h = makeHarness();
    const c = h.connect();
    c.frame(`{"type":"bootstrap_register","child_pub_key":"k","parent_pub_key":"k","device_info":${nest(20_000)},"timestamp":1,"sig":"s"}`);
    expect(c.last()).toMatchObject({ type: 'error', code: 'too_complex' });
    expect(h.store.listBootstrapDevices()).toEqual([]);
  });

  it('an open register with process_info.start_time 1e20: bad_frame, no app stored', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register({ process_info: { start_time: 1e20 } }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'bad_frame', app_id: d.appId });
    expect(h.store.listApps()).toEqual([]);
  });

  it('a process_info.pid that is an object: bad_frame, not storage_unavailable', () => {
    const h = makeHarness();
    const c = h.connect();
    const d = new Device();
    c.frame(d.register({ process_info: { pid: { x: 1 } } }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'bad_frame', message: expect.stringContaining('process_info.pid') });
    expect(h.store.listApps()).toEqual([]);
  });

  it('a valid start_time is stored as its ISO time', () => {
    const h = makeHarness();
    const d = new Device();
    const { c } = h.registered(d);
    expect(c.last()).toMatchObject({ type: 'registered' });
    const c2 = h.connect();
    const d2 = new Device();
    c2.frame(d2.register({ process_info: { pid: 7, start_time: Date.UTC(2026, 0, 1) } }));
    h.commit();
    expect(h.store.getApp(d2.appId)).toMatchObject({ pid: 7, start_time: '2026-01-01T00:00:00.000Z' });
  });

  it('a signed message whose payload has no canonical form (a lone surrogate, 1e400) is a bad_signature, not an exception', () => {
    const h = makeHarness();
    const { c, d } = h.registered(new Device(undefined, 'signed'));
    for (const inner of ['"\\ud800"', '1e400']) {
      const text = JSON.stringify(d.message({ v: 1 })).replace('{"v":1}', `{"v":${inner}}`);
      c.frame(text);
      h.commit();
      expect(c.last(), inner).toMatchObject({ type: 'error', code: 'bad_signature' });
    }
    expect(h.store.messages(d.appId)).toEqual([]);
    expect(h.hub.stats.internalErrors).toBe(0);
  });
});

describe('an unexpected exception refuses one frame, and the hub serves on', () => {
  it('a store that throws while a register is handled: internal_error to that socket only', () => {
    const store = new MemoryStore();
    const h = makeHarness({}, store);
    const other = h.registered();
    const d = new Device();
    const getApp = store.getApp.bind(store);
    store.getApp = (id: string) => {
      if (id === d.appId) throw new Error('boom');
      return getApp(id);
    };
    const c = h.connect();
    c.frame(d.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'internal_error' });
    expect(h.hub.stats.internalErrors).toBe(1);
    other.c.frame(other.d.message({ ok: true }));
    h.commit();
    expect(other.c.last()).toMatchObject({ type: 'ack', seq: 1 });
  });

  it('a failure in onOpen closes that socket with 1011', () => {
    const h = makeHarness();
    const clock = h.clock as unknown as { after: unknown };
    const after = clock.after;
    clock.after = () => {
      throw new Error('timer failed');
    };
    const c = h.connect();
    clock.after = after;
    expect(c.closed).toMatchObject({ code: 1011 });
    expect(h.registered().c.last()).toMatchObject({ type: 'registered' });
  });
});

describe('group commit', () => {
  it('a callback that throws does not cost the other writes of its commit their answers', async () => {
    const errors: unknown[] = [];
    const committer = new GroupCommitter(new MemoryStore(), 4096, () => {}, undefined, undefined, (e) => errors.push(e));
    const answered: number[] = [];
    committer.enqueue(() => {}, () => answered.push(1));
    committer.enqueue(() => {}, () => {
      throw new Error('caller bug');
    });
    committer.enqueue(() => {}, () => answered.push(3));
    committer.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toEqual([1, 3]);
    expect(errors).toHaveLength(1);
  });
});
