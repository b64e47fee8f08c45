/**
 * Apps per connection (--max-apps-per-connection): a register or re_register
 * that would bind one app too many to a socket is refused with too_many_apps
 * before anything is stored, so closing the socket crashes only the apps it
 * really carried.
 */
import { describe, expect, it } from 'vitest';
import { Device, makeHarness } from '../support/hub-harness.js';

describe('apps per connection', () => {
  it('refuses the app beyond the cap, stores nothing of it, and a close crashes only the apps carried', () => {
    const h = makeHarness({ maxAppsPerConnection: 3 });
    const c = h.connect();
    const devs = Array.from({ length: 3 }, () => new Device());
    for (const d of devs) c.frame(d.register());
    h.commit();
    expect(c.ofType('registered')).toHaveLength(3);
    const extra = Array.from({ length: 50 }, () => new Device());
    for (const d of extra) c.frame(d.register());
    h.commit();
    const refusals = c.ofType('error');
    expect(refusals).toHaveLength(50);
    expect(refusals.every((e) => e.code === 'too_many_apps' && /--max-apps-per-connection/.test(e.message))).toBe(true);
    expect(refusals.map((e) => e.app_id)).toEqual(extra.map((d) => d.appId));
    for (const d of extra) {
      expect(h.store.getApp(d.appId)).toBeUndefined();
      expect(h.hub.liveApp(d.appId)).toBeUndefined();
    }
    expect(h.store.auditLog()).toEqual([]);
    // An app already on the socket is not counted twice: its own rules answer it, not the cap.
    c.frame(devs[0]!.register());
    h.commit();
    expect(c.last()).toMatchObject({ type: 'error', code: 'already_registered', app_id: devs[0]!.appId });
    c.drop();
    h.commit();
    expect(h.store.crashes().map((r) => r.app_id).sort()).toEqual(devs.map((d) => d.appId).sort());
    expect(h.store.listApps()).toHaveLength(3);
  });

  it('counts re_register too: an app moved onto a full socket is refused and stays where it is', () => {
    const h = makeHarness({ maxAppsPerConnection: 1 });
    const { c: home, d: wanderer } = h.registered();
    const { c: full } = h.registered();
    full.frame(wanderer.reRegister());
    h.commit();
    expect(full.last()).toMatchObject({ type: 'error', code: 'too_many_apps', app_id: wanderer.appId });
    expect(h.hub.liveApp(wanderer.appId)?.conn.conn).toBe(home);
    // On a fresh socket the same re_register is served.
    const fresh = h.connect();
    fresh.frame(wanderer.reRegister());
    h.commit();
    expect(fresh.last()).toMatchObject({ type: 'registered', app_id: wanderer.appId });
  });

  it('defaults to 64 apps a socket', () => {
    const h = makeHarness();
    const c = h.connect();
    for (let i = 0; i < 65; i++) c.frame(new Device().register());
    h.commit();
    expect(c.ofType('registered')).toHaveLength(64);
    expect(c.ofType('error').map((e) => e.code)).toEqual(['too_many_apps']);
  });
});
