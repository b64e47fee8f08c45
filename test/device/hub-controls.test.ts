import { describe, expect, it } from 'vitest';
import { ControlError } from '../../gateway/device/controls.js';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('control path', () => {
  it('delivers a control to a connected device and resolves with its response', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'reconfig', payload: { batch: 5 }, origin: 'admin' });
    h.commit();
    expect(c.ofType('control')).toHaveLength(1);
    h.commit(); // the 'sent' status
    expect(h.store.getControl(correlationId)?.status).toBe('sent');
    c.frame(d.controlResponse(correlationId, { ack: true, result: { applied: true } }));
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'answered', response: { ack: true, result: { applied: true } } });
    expect(h.store.getControl(correlationId)).toMatchObject({ status: 'answered', ack_result_json: { ack: true, result: { applied: true } } });
    expect(h.store.messages(d.appId, { msg_type: 'Control' })[0]).toMatchObject({ direction: 'out', correlation_id: correlationId });
  });

  it('queues a control for an offline device and delivers it when it re_registers', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    c.drop();
    h.commit();
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'checkpoint', origin: 'admin' });
    h.commit();
    expect(h.store.getControl(correlationId)?.status).toBe('queued');
    const c2 = h.connect();
    c2.frame(d.reRegister());
    h.commit();
    expect(c2.ofType('control').map((f) => f.correlation_id)).toEqual([correlationId]);
    c2.frame(d.controlResponse(correlationId, { ack: false, error: 'unknown_action', action: 'checkpoint' }));
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'answered', response: { ack: false, error: 'unknown_action' } });
  });

  it('expires a control that nobody answers', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'slow', ttlMs: 5000, origin: 'admin' });
    h.commit();
    h.clock.advance(6000);
    h.commit();
    await expect(done).resolves.toMatchObject({ status: 'expired' });
    expect(h.store.getControl(correlationId)?.status).toBe('expired');
    c.frame(d.controlResponse(correlationId, { ack: true }));
    expect(c.last()).toMatchObject({ type: 'error', code: 'unknown_correlation' });
  });

  it('refuses controls for unknown or finished apps, and empty actions', () => {
    const h = makeHarness();
    expect(() => h.hub.controls.send({ appId: crypto.randomUUID(), action: 'x', origin: 'admin' })).toThrow(ControlError);
    const d = new Device();
    const c = h.connect();
    c.frame(d.register());
    c.frame(d.message({}, 'Result'));
    h.commit();
    expect(() => h.hub.controls.send({ appId: d.appId, action: 'x', origin: 'admin' })).toThrow(/done/);
    expect(() => h.hub.controls.send({ appId: d.appId, action: '', origin: 'admin' })).toThrow(/action/);
  });

  it('refuses a response for another app, or from a device that is not the target', () => {
    const h = makeHarness();
    const a = new Device();
    const b = new Device();
    const ca = h.connect();
    const cb = h.connect();
    ca.frame(a.register());
    cb.frame(b.register());
    h.commit();
    const { correlationId } = h.hub.controls.send({ appId: a.appId, action: 'x', origin: 'admin' });
    h.commit();
    h.commit();
    cb.frame(b.controlResponse(correlationId, { ack: true }));
    expect(cb.last()).toMatchObject({ type: 'error', code: 'unknown_correlation' });
    expect(h.store.getControl(correlationId)?.status).toBe('sent');
  });
});

describe('control answers', () => {
  it('takes one answer per control, even when two arrive in the same turn', async () => {
    const h = makeHarness();
    const { c, d } = h.registered();
    const { correlationId, done } = h.hub.controls.send({ appId: d.appId, action: 'x', origin: 'admin' });
    h.commit();
    h.commit();
    c.frame(d.controlResponse(correlationId, { ack: true, result: 1 }));
    c.frame(d.controlResponse(correlationId, { ack: true, result: 2 }));
    h.commit();
    await expect(done).resolves.toMatchObject({ response: { result: 1 } });
    expect(h.store.getControl(correlationId)?.ack_result_json).toEqual({ ack: true, result: 1 });
    expect(c.ofType('error').map((e) => e.code)).toEqual(['unknown_correlation']);
    expect(h.events.filter((e) => e.type === 'control')).toHaveLength(1);
  });
});
