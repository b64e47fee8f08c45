import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { joinFromUrl, joinToken, joinTokenValid } from '../../gateway/device/join-gate.js';
import { CloseCode } from '../../protocol/frames.js';
import { Device, makeHarness } from '../support/hub-harness.js';

const secret = new Uint8Array(randomBytes(32));
const gated = () => makeHarness({ registration: 'gated', householdKey: secret });

function declare(h: ReturnType<typeof gated>, appId: string, parentId: string, sec = 'open'): void {
  h.committer.enqueue((w) => w.insertApp({ app_id: appId, parent_id: parentId, app_name: 'child', status: 'scheduled', sec_level: sec as 'open', created_at: new Date(h.clock.now()).toISOString(), updated_at: new Date(h.clock.now()).toISOString() }));
  h.commit();
}

describe('join token', () => {
  it('is 22 base64url characters, bound to the app and its parent, checked in constant time', () => {
    const a = crypto.randomUUID();
    const p = crypto.randomUUID();
    const t = joinToken(secret, a, p);
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(joinTokenValid(secret, a, p, t)).toBe(true);
    expect(joinTokenValid(secret, a.toUpperCase(), p, t)).toBe(true); // UUIDs compare case-insensitively
    expect(joinTokenValid(secret, a, null, t)).toBe(false); // another place in the tree
    expect(joinTokenValid(secret, crypto.randomUUID(), p, t)).toBe(false);
    expect(joinTokenValid(new Uint8Array(randomBytes(32)), a, p, t)).toBe(false); // another household
    for (const bad of [null, undefined, '', `${t}=`, t.slice(1), `${t.slice(0, 21)}!`, 'A'.repeat(22)]) expect(joinTokenValid(secret, a, p, bad)).toBe(false);
  });

  it('is read from the upgrade URL query', () => {
    expect(joinFromUrl('/ws?join=abc&x=1')).toBe('abc');
    expect(joinFromUrl('/ws')).toBeUndefined();
    expect(joinFromUrl(`/ws?join=${'a'.repeat(65)}`)).toBeUndefined();
  });
});

describe('registration gate (gated)', () => {
  it('refuses an undeclared root app without a token, with join_required and the final close 4401; stores nothing', () => {
    const h = gated();
    const d = new Device();
    const c = h.connect();
    c.frame(d.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'join_required', app_id: d.appId });
    expect(c.closed?.code).toBe(CloseCode.joinRequired);
    expect(h.store.getApp(d.appId)).toBeUndefined();
    expect(h.hub.bootstrap.stats.joinRefused).toBe(1);
  });

  it('refuses a wrong token, a token of another app, and a token made for another parent', () => {
    const h = gated();
    const root = new Device();
    h.connectJoin(joinToken(secret, root.appId, null)).frame(root.register());
    h.commit();
    const d = new Device(undefined, 'open', root.appId);
    for (const t of ['x'.repeat(22), joinToken(secret, root.appId, null), joinToken(secret, d.appId, null)]) {
      const c = h.connectJoin(t);
      c.frame(d.register());
      h.commit();
      h.clock.advance(10_000); // repeats of one refused app from one address are held (core/refusal-pacer.ts)
      expect(c.last()).toMatchObject({ code: 'join_required' });
    }
    expect(h.store.getApp(d.appId)).toBeUndefined();
  });

  it('accepts the token in the URL or in the frame; a multiplexing socket keeps its other apps when one is refused', () => {
    const h = gated();
    const a = new Device();
    const c = h.connectJoin(joinToken(secret, a.appId, null));
    c.frame(a.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered', app_id: a.appId });
    const b = new Device(undefined, 'open', a.appId);
    c.frame(b.register({ join: joinToken(secret, b.appId, a.appId) }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered', app_id: b.appId });
    const stranger = new Device();
    c.frame(stranger.register());
    h.commit();
    expect(c.last()).toMatchObject({ code: 'join_required' });
    expect(c.closed).toBeUndefined(); // a and b stay
  });

  it('lets a declared child register without a token, but only under its declared parent', () => {
    const h = gated();
    const root = new Device();
    h.connectJoin(joinToken(secret, root.appId, null)).frame(root.register());
    h.commit();
    const other = new Device();
    h.connectJoin(joinToken(secret, other.appId, null)).frame(other.register());
    h.commit();
    const childId = crypto.randomUUID();
    declare(h, childId, root.appId);
    // The found attack: the id was declared under root; a device naming another parent does not land under root.
    const wrong = new Device(childId, 'open', other.appId);
    const c1 = h.connect();
    c1.frame(wrong.register());
    h.commit();
    expect(c1.last()).toMatchObject({ code: 'parent_mismatch' });
    expect(h.store.getApp(childId)?.status).toBe('scheduled');
    const right = new Device(childId, 'open', root.appId);
    const c2 = h.connect();
    c2.frame(right.register());
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'registered', app_id: childId });
  });

  it('an open-tier app resumes (register or re_register) only with its token; its key text alone is not enough', () => {
    const h = gated();
    const d = new Device();
    const token = joinToken(secret, d.appId, null);
    const c = h.connectJoin(token);
    c.frame(d.register());
    h.commit();
    c.drop();
    h.commit();
    // Someone who read the key text off plain ws:// tries to take the app over.
    const thief = h.connect();
    thief.frame(d.reRegister());
    h.commit();
    expect(thief.last()).toMatchObject({ code: 'join_required' });
    const thief2 = h.connect();
    thief2.frame(d.register());
    h.commit();
    h.clock.advance(10_000); // the second refusal of this app from this address is held (core/refusal-pacer.ts)
    expect(thief2.last()).toMatchObject({ code: 'join_required' });
    expect(h.store.getApp(d.appId)?.status).toBe('crashed');
    const back = h.connectJoin(token);
    back.frame(d.reRegister());
    h.commit();
    expect(back.last()).toMatchObject({ type: 'registered', app_id: d.appId });
  });

  it('a signed app resumes without a token: its signature proves the key', () => {
    const h = gated();
    const d = new Device(undefined, 'signed');
    h.connectJoin(joinToken(secret, d.appId, null)).frame(d.register());
    h.commit();
    const c = h.connect();
    c.frame(d.reRegister());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered', app_id: d.appId });
  });

  it('bad input: a join that is not a string or too long is bad_frame; a token over another app\'s URL token wins from the frame', () => {
    const h = gated();
    const d = new Device();
    for (const join of [5, { t: 1 }, 'x'.repeat(65)]) {
      const c = h.connect();
      c.frame(d.register({ join }));
      h.commit();
      expect(c.last()).toMatchObject({ type: 'error', code: 'bad_frame' });
    }
    // The socket was opened with some other app's token; the frame names this app's own.
    const c = h.connectJoin(joinToken(secret, crypto.randomUUID(), null));
    c.frame(d.register({ join: joinToken(secret, d.appId, null) }));
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered', app_id: d.appId });
    expect(h.store.getApp(d.appId)?.status).toBe('connected');
  });

  it('a declared app with an uppercase parent_id in the frame is the same parent; a declared root-less id under a parent is refused', () => {
    const h = gated();
    const root = new Device();
    h.connectJoin(joinToken(secret, root.appId, null)).frame(root.register());
    h.commit();
    const childId = crypto.randomUUID();
    declare(h, childId, root.appId);
    const asRoot = new Device(childId, 'open', null);
    const c1 = h.connect();
    c1.frame(asRoot.register());
    h.commit();
    expect(c1.last()).toMatchObject({ code: 'parent_mismatch' });
    const upper = new Device(childId, 'open', root.appId.toUpperCase());
    const c2 = h.connect();
    c2.frame(upper.register());
    h.commit();
    expect(c2.last()).toMatchObject({ type: 'registered' });
    expect(h.store.getApp(childId)?.parent_id).toBe(root.appId);
  });

  it('open mode keeps the old behaviour', () => {
    const h = makeHarness({ registration: 'open', householdKey: secret });
    const d = new Device();
    const c = h.connect();
    c.frame(d.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'registered' });
  });
});
