/**
 * The registration gate seen from the API (docs/API.md "Join tokens"): who
 * may get a join token, and that the serverEp the API hands out lets a new
 * app register on a gated gateway while the same app without it is refused.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningGateway } from '../../gateway/app.js';
import { as, admin, call, cleanDirs, startTestGateway } from './support/api-harness.js';
import { SimLink, simApp, type SimApp } from './support/sim-device.js';

let gw: RunningGateway | undefined;
const links: SimLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) l.close();
  await gw?.stop();
  gw = undefined;
});
afterAll(cleanDirs);

/** The serverEp the API answered, on the port the test gateway really listens on. */
async function open(url: string): Promise<SimLink> {
  const l = await SimLink.open(url.replace('ws://localhost:80', gw!.wsUrl.replace(/\/ws$/, '')));
  links.push(l);
  return l;
}

/** A signed root on a gated gateway, let in by an admin-issued token. */
async function gatedRoot(): Promise<{ g: RunningGateway; root: SimApp }> {
  gw = await startTestGateway({ registration: 'gated' });
  const root = simApp(null, 'root');
  const res = await call(gw, admin(gw), 'POST', '/api/v1/join-tokens', { appId: root.appId });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ app_id: root.appId, parent_id: null, join_token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
  // inject() calls with Host: localhost:80; the endpoint names the host the caller used.
  expect(res.body.server_ep).toBe(`ws://localhost:80/ws?join=${res.body.join_token}`);
  const link = await open(`${gw.wsUrl}?join=${res.body.join_token}`);
  expect(await link.register(root)).toMatchObject({ type: 'registered' });
  return { g: gw, root };
}

describe('the registration gate on a real gateway', () => {
  it('refuses an undeclared root app with join_required and closes 4401; nothing is stored', async () => {
    gw = await startTestGateway({ registration: 'gated' });
    const ws = new WebSocket(gw.wsUrl);
    await new Promise((r) => ws.once('open', r));
    const appId = crypto.randomUUID();
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ type: 'register', app_id: appId, parent_id: null, app_name: 'x', child_pub_key: `ed25519:${Buffer.alloc(32, 1).toString('base64')}`, sig: null }));
    expect(await closed).toBe(4401);
    expect(frames[0]).toMatchObject({ type: 'error', code: 'join_required', app_id: appId });
    expect(gw.store.getApp(appId)).toBeUndefined();
  });

  it('POST /children answers the child a serverEp with its token; the declared child registers from it', async () => {
    const { g, root } = await gatedRoot();
    const childId = crypto.randomUUID();
    const res = await call(g, as(root), 'POST', '/api/v1/children', { parentId: root.appId, appId: childId, appName: 'w', startDeadline: 60 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ app_id: childId, status: 'scheduled', join_token: expect.any(String), server_ep: expect.stringContaining(`/ws?join=${res.body.join_token}`) });
    const link = await open(res.body.server_ep);
    expect(await link.register({ ...simApp(root.appId, 'w'), appId: childId })).toMatchObject({ type: 'registered' });
  });

  it('who may get a token: the admin anywhere; an app under its own subtree only; never a root for an app', async () => {
    const { g, root } = await gatedRoot();
    const ok = await call(g, as(root), 'POST', '/api/v1/join-tokens', { parentId: root.appId });
    expect(ok.status).toBe(201);
    expect(ok.body.parent_id).toBe(root.appId);
    const link = await open(ok.body.server_ep);
    const child = { ...simApp(root.appId, 'c'), appId: ok.body.app_id };
    expect(await link.register(child)).toMatchObject({ type: 'registered' });

    const stranger = await call(g, as(child), 'POST', '/api/v1/join-tokens', {});
    expect(stranger.status).toBe(403); // a root needs the admin
    const sideways = await call(g, as(child), 'POST', '/api/v1/join-tokens', { parentId: root.appId });
    expect(sideways.status).toBe(403); // not under its own subtree
    const ownOfOther = await call(g, as(child), 'POST', '/api/v1/join-tokens', { appId: root.appId });
    expect(ownOfOther.status).toBe(403); // another app's token
    const moved = await call(g, admin(g), 'POST', '/api/v1/join-tokens', { appId: child.appId, parentId: null });
    expect(moved.status).toBe(409); // an existing app keeps its place
    const unknown = await call(g, admin(g), 'POST', '/api/v1/join-tokens', { parentId: crypto.randomUUID() });
    expect(unknown.status).toBe(404);
    const unsigned = await call(g, null, 'POST', '/api/v1/join-tokens', {});
    expect(unsigned.status).toBe(401);
    const extra = await call(g, admin(g), 'POST', '/api/v1/join-tokens', { appId: 'not-a-uuid' });
    expect(extra.status).toBe(400);
    expect(g.store.auditLog({ target_app_id: ok.body.app_id }).map((a) => a.outcome)).toContain('issued');
  });
});
