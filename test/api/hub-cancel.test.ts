/**
 * The hub's part of cancel (in-memory twins, manual clock): an accepted
 * cancel ends the app as cancelled and later frames do not undo it; an
 * expired cancel marks an absent app cancelled; a control whose app ended
 * meanwhile is undeliverable; control events carry the app's tree position.
 */
import { describe, expect, it } from 'vitest';
import { CascadeCanceller } from '../../gateway/api/cascade.js';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('cancel in the hub', () => {
  it('a cancel answered with ack:true makes the app cancelled; its goodbye disconnect keeps it so', async () => {
    const h = makeHarness();
    const { c, d } = h.registered(new Device(crypto.randomUUID(), 'open', null));
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'cancel', payload: { reason: 'x' }, origin: 'admin' });
    h.commit();
    h.commit();
    c.frame(d.controlResponse(correlationId, { ack: true, result: { cancelled: true } }));
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'answered' });
    expect(h.store.getApp(d.appId)?.status).toBe('cancelled');
    expect(h.events.filter((e) => e.type === 'app_status').map((e) => (e as { status: string }).status)).toEqual(['connected', 'cancelled']);
    c.frame(d.disconnect('completed'));
    h.commit();
    expect(h.store.getApp(d.appId)?.status).toBe('cancelled');
    expect(c.ofType('error')).toEqual([]);
    expect(c.closed).toEqual({ code: 1000, reason: 'disconnected' });
  });

  it('a cancelled app\'s session is over: its data is refused (app_terminal), nothing stored, its socket closed with 4410', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'cancel', origin: 'admin' });
    h.commit();
    h.commit();
    c.frame(d.controlResponse(correlationId, { ack: true }));
    h.commit();
    await done;
    for (const type of ['Status', 'Result'] as const) c.frame(d.message({ late: type }, type));
    h.commit();
    expect(h.store.messages(d.appId, {}).filter((m) => m.direction === 'in')).toEqual([]);
    expect(c.ofType('error')).toEqual([expect.objectContaining({ code: 'app_terminal', app_id: d.appId, seq: 1 })]);
    expect(c.closed).toEqual({ code: 4410, reason: `app_terminal ${d.appId}` });
    expect(h.store.getApp(d.appId)?.status).toBe('cancelled');
    expect(h.store.crashes({ app_id: d.appId })).toEqual([]);
  });

  it('a force-killed app is told at once and unbound; a socket it shares stays open for the others', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const other = new Device();
    c.frame(other.register());
    h.commit();
    const killed = h.hub.controls.markCancelled(d.appId, { force_killed: true });
    // Before the commit already, its data is refused and nothing is stored.
    c.frame(d.message({ still: 'here' }));
    h.commit();
    expect(await killed).toBe(true);
    expect(h.store.messages(d.appId, {}).filter((m) => m.direction === 'in')).toEqual([]);
    expect(c.ofType('error').map((e) => [e.code, e.app_id])).toEqual([['app_terminal', d.appId]]);
    expect(h.hub.liveApp(d.appId)).toBeUndefined();
    expect(c.closed).toBeUndefined();
    c.frame(other.message({ fine: true }));
    h.commit();
    expect(c.last()).toEqual({ type: 'ack', seq: 1, app_id: other.appId });
    // Its socket dropping now is no crash: the session was already over.
    c.drop();
    h.commit();
    expect(h.store.getApp(d.appId)?.status).toBe('cancelled');
  });

  it('a force-killed app alone on its socket: error frame, then the socket closes with 4410', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const killed = h.hub.controls.markCancelled(d.appId, { force_killed: true });
    h.commit();
    expect(await killed).toBe(true);
    expect(c.last()).toMatchObject({ type: 'error', code: 'app_terminal', app_id: d.appId, message: `app ${d.appId} was cancelled (force_killed): its session is over` });
    expect(c.closed).toEqual({ code: 4410, reason: `app_terminal ${d.appId}` });
    expect(h.store.getApp(d.appId)?.status).toBe('cancelled');
  });

  it('a cancel answered with ack:false changes nothing; other actions never cancel', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    for (const [action, ack] of [['cancel', false], ['pause', true]] as const) {
      const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action, origin: 'admin' });
      h.commit();
      h.commit();
      c.frame(d.controlResponse(correlationId, { ack }));
      h.commit();
      await done;
    }
    expect(h.store.getApp(d.appId)?.status).toBe('connected');
  });

  it('an expired cancel for an app that never came back marks it cancelled (cancel_expired)', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    h.store.transaction((w) => w.updateApp(d.appId, { status: 'lost_contact' }));
    c.drop();
    h.commit();
    const { done } = h.hub.controls.send({ appId: d.appId, action: 'cancel', ttlMs: 3000, origin: 'admin' });
    h.commit();
    h.clock.advance(4000);
    h.commit();
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'expired' });
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'cancelled', metadata_json: { cancel_expired: true } });
  });

  it('a control whose app ended before delivery is undeliverable at expiry', async () => {
    const h = makeHarness();
    const parent = new Device();
    const c = h.connect();
    c.frame(parent.register());
    h.commit();
    const child = crypto.randomUUID();
    h.store.transaction((w) => w.insertApp({ app_id: child, parent_id: parent.appId, app_name: 'c', status: 'scheduled', namespace: 'home' }));
    const { correlationId, done } = h.hub.controls.send({ appId: child, action: 'warmup', ttlMs: 5000, origin: 'admin' });
    h.commit();
    h.store.transaction((w) => w.updateApp(child, { status: 'start_failed' }));
    h.clock.advance(6000);
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'undeliverable' });
    expect(h.store.getControl(correlationId)?.status).toBe('undeliverable');
    const event = h.events.find((e) => e.type === 'control' && e.correlation_id === correlationId);
    expect(event).toMatchObject({ app_id: child, parent_id: parent.appId, namespace: 'home', status: 'undeliverable' });
  });

  it('markCancelled leaves finished apps alone and merges its marker into metadata', async () => {
    const h = makeHarness();
    const id = crypto.randomUUID();
    const finished = crypto.randomUUID();
    h.store.transaction((w) => {
      w.insertApp({ app_id: id, parent_id: null, app_name: 'x', status: 'reconnecting', metadata_json: { tags: { a: 1 } } });
      w.insertApp({ app_id: finished, parent_id: null, app_name: 'y', status: 'done' });
    });
    const marked = h.hub.controls.markCancelled(id, { force_killed: true });
    h.commit();
    expect(await marked).toBe(true);
    expect(h.store.getApp(id)).toMatchObject({ status: 'cancelled', metadata_json: { tags: { a: 1 }, force_killed: true } });
    const untouched = h.hub.controls.markCancelled(finished);
    expect(await untouched).toBe(false);
    expect(h.store.getApp(finished)?.status).toBe('done');
    expect(await h.hub.controls.markCancelled(crypto.randomUUID())).toBe(false);
  });

  it('a declared child is cancelled at once, with no control; one that registers before the write is cancelled like a live node', async () => {
    const h = makeHarness();
    const { d: parent } = h.registered();
    const idle = crypto.randomUUID();
    const racing = new Device(crypto.randomUUID(), 'open', parent.appId);
    h.store.transaction((w) => {
      w.insertApp({ app_id: idle, parent_id: parent.appId, app_name: 'idle', status: 'scheduled', start_deadline: 1 });
      w.insertApp({ app_id: racing.appId, parent_id: parent.appId, app_name: 'racing', status: 'scheduled', start_deadline: 600 });
    });
    const canceller = new CascadeCanceller(h.hub);
    const c = h.connect();
    const idleRun = canceller.run({ rootId: idle, cascade: false, graceMs: 1000, reason: 'x', initiatedBy: 'admin' });
    const raceRun = canceller.run({ rootId: racing.appId, cascade: false, graceMs: 1000, reason: 'x', initiatedBy: 'admin' });
    // The child registers in the same turn, before the cancel's write commits.
    c.frame(racing.register());
    h.commit();
    const idleReport = await idleRun;
    expect(idleReport.nodes).toEqual([expect.objectContaining({ app_id: idle, outcome: 'cancelled', status: 'cancelled' })]);
    expect(idleReport.nodes[0]!.correlation_id).toBeUndefined();
    expect(h.store.getApp(idle)?.metadata_json).toEqual({ cancelled_before_start: true });
    await Promise.resolve();
    h.commit();
    const control = c.ofType('control')[0]!;
    expect(control).toMatchObject({ app_id: racing.appId, action: 'cancel' });
    c.frame(racing.controlResponse(control.correlation_id, { ack: true }));
    h.commit();
    expect((await raceRun).nodes).toEqual([expect.objectContaining({ app_id: racing.appId, outcome: 'cancelled', status: 'cancelled' })]);
    // Past its deadline the idle child stays cancelled: no start_failed, no crash.
    h.clock.advance(5000);
    h.commit();
    expect(h.store.getApp(idle)?.status).toBe('cancelled');
    expect(h.store.crashes({ app_id: idle })).toEqual([]);
  });
});
