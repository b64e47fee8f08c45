/**
 * register, child-info and the data path (status JSON, result, error,
 * shutdown) as a registered shell, through its session agent.
 */
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callAgent } from '../../cli/agent/protocol.js';
import { decodeTrailsInfo } from '../../client/config.js';
import { joinTokenValid } from '../../gateway/device/join-gate.js';
import type { RunningGateway } from '../../gateway/app.js';
import { deadPort, Harness, until } from './support/harness.js';

const householdSecret = (gw: RunningGateway): Uint8Array => gw.hub.options.householdKey!;

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

describe('trails register', () => {
  it('prints one export line to eval; the shell is an app with a key it can sign with', async () => {
    const r = await h.cli(['register', '--name', 'daily-etl']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^export TRAILS_APP_ID='[0-9a-f-]{36}' TRAILS_APP_KEY='[A-Za-z0-9+/=]+' TRAILS_INFO='[A-Za-z0-9+/=]+'\n$/);
    const env = Object.fromEntries([...r.stdout.matchAll(/(\w+)='([^']*)'/g)].map((m) => [m[1], m[2]]));
    const info = decodeTrailsInfo(env.TRAILS_INFO!);
    expect(info).toMatchObject({ appId: env.TRAILS_APP_ID, appName: 'daily-etl', parentId: null, secLevel: 'signed', serverPubKey: h.gw.identity.publicKeyText });
    const row = h.gw.store.getApp(env.TRAILS_APP_ID!)!;
    expect(row).toMatchObject({ app_name: 'daily-etl', status: 'connected', sec_level: 'signed' });
    // Signed as the app: it reads itself.
    const st = await h.cli(['status', '--json'], env);
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout).app.app_id).toBe(env.TRAILS_APP_ID);
  });

  it('--json gives the id, key and TRAILS_INFO as fields', async () => {
    const r = await h.cli(['register', '--name', 'x', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ appName: 'x', parentId: null, lastSeq: 0 });
    expect(decodeTrailsInfo(j.trailsInfo).appId).toBe(j.appId);
  });

  it('a shell that registers inside a registered shell becomes its child; with a TRAILS_INFO from child-info it registers as that child', async () => {
    const parent = await h.register(['--name', 'outer']);
    const inner = await h.register(['--name', 'inner'], parent);
    expect(inner.TRAILS_APP_ID).not.toBe(parent.TRAILS_APP_ID);
    expect(h.gw.store.getApp(inner.TRAILS_APP_ID!)!.parent_id).toBe(parent.TRAILS_APP_ID);

    const { appId, info } = await h.childInfo(parent, ['--name', 'step']);
    const handed = await h.register([], { ...parent, TRAILS_INFO: info });
    expect(handed.TRAILS_APP_ID).toBe(appId);
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'connected', app_name: 'step', parent_id: parent.TRAILS_APP_ID });
  });

  it('a TRAILS_INFO whose app another process already registered is refused, with the reason', async () => {
    const shell = await h.register();
    const { appId, info } = await h.childInfo(shell);
    await h.device(info);
    const r = await h.cli(['register'], { ...shell, TRAILS_INFO: info });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`trails: the gateway refused app ${appId}: app_owned: app ${appId} is registered with another key\n`);
  });

  it('refuses a bad --parent and a bad --sec-level as usage errors; an unreachable gateway is one line', async () => {
    expect((await h.cli(['register', '--parent', 'nope'])).code).toBe(64);
    expect((await h.cli(['register', '--sec-level', 'high'])).code).toBe(64);
    const port = await deadPort();
    const r = await h.cli(['register', '--server', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`trails: cannot reach the gateway at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (is trailsd running? set --server or TRAILS_SERVER)\n`);
  });
});

describe('data path as the registered shell', () => {
  it('status JSON is stored with seq 1, 2, …; result ends the app done; a later shutdown is a no-op', async () => {
    const env = await h.register(['--name', 'etl']);
    const id = env.TRAILS_APP_ID!;
    expect(await h.cli(['status', '{"progress":0.25}'], env)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const s2 = await h.cli(['status', '{"progress":0.5}', '--json'], env);
    expect(JSON.parse(s2.stdout)).toEqual({ app_id: id, msg_type: 'Status', seq: 2, acked: true });
    expect(h.gw.store.getApp(id)).toMatchObject({ status: 'running' });
    expect(h.gw.store.maxSeq(id)).toBe(2); // apps.last_seq follows within 5 s
    expect(h.gw.store.latestSnapshot(id)!.snapshot_json).toEqual({ progress: 0.5 });

    expect((await h.cli(['result', '{"steps_completed":1}'], env)).code).toBe(0);
    expect(h.gw.store.getApp(id)!.status).toBe('done');
    expect(h.gw.store.messages(id, { msg_type: 'Result' }).map((m) => [m.seq, m.payload_json])).toEqual([[3, { steps_completed: 1 }]]);

    expect(await h.cli(['shutdown'], env)).toEqual({ code: 0, stdout: '', stderr: '' });
    const sd = await h.cli(['shutdown', '--json'], env);
    expect(JSON.parse(sd.stdout)).toEqual({ app_id: id, disconnected: null, last_seq: 3, already_ended: 'Result #3 stored' });
    const late = await h.cli(['status', '{"x":1}'], env);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('has already ended');
  });

  it('error MSG --detail ends the app in error with {message, detail}', async () => {
    const env = await h.register(['--name', 'etl']);
    const r = await h.cli(['error', 'disk full', '--detail', '{"free_mb":0}'], env);
    expect(r.code).toBe(0);
    const id = env.TRAILS_APP_ID!;
    expect(h.gw.store.getApp(id)!.status).toBe('error');
    expect(h.gw.store.messages(id, { msg_type: 'Error' })[0]!.payload_json).toEqual({ message: 'disk full', detail: { free_mb: 0 } });
  });

  it('shutdown waits until the gateway stored the disconnect: done', async () => {
    const env = await h.register(['--name', 'etl']);
    const r = await h.cli(['shutdown', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ app_id: env.TRAILS_APP_ID, disconnected: 'completed' });
    // No polling: the answer came after the commit.
    expect(h.gw.store.getApp(env.TRAILS_APP_ID!)!.status).toBe('done');
  });

  it('shutdown --reason error ends it in error', async () => {
    const env = await h.register();
    expect((await h.cli(['shutdown', '--reason', 'error'], env)).code).toBe(0);
    expect(h.gw.store.getApp(env.TRAILS_APP_ID!)!.status).toBe('error');
  });

  it('when the shell is gone without shutdown, its app is crashed', async () => {
    const env = await h.register(['--name', 'fragile']);
    const id = env.TRAILS_APP_ID!;
    await h.agents.agentOf(id)!.stop('the shell exited');
    await until(() => h.gw.store.getApp(id)?.status === 'crashed', 5_000, 'crashed');
    expect(h.gw.store.crashes({ app_id: id })[0]!.crash_type).toBe('connection_drop');
    const r = await h.cli(['status', '{"a":1}'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no session agent for app .* the shell that registered it has ended/);
  });

  it('a cancel of the shell app is answered by its agent; later reports say it was cancelled', async () => {
    const env = await h.register(['--name', 'victim']);
    const id = env.TRAILS_APP_ID!;
    const c = await h.cli(['cancel', '--uuid', id, '--reason', 'operator']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/victim \([0-9a-f]{8}\): cancelled/);
    expect(h.gw.store.getApp(id)!.status).toBe('cancelled');
    const r = await h.cli(['status', '{"a":1}'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has already ended (cancelled: operator)');
  });

  it('without the gateway nothing is acknowledged: status and shutdown fail after --timeout', async () => {
    const env = await h.register(['--name', 'offline']);
    await h.stopGateway();
    const st = await h.cli(['status', '{"a":1}', '--timeout', '0.5'], env);
    expect(st.code).toBe(1);
    expect(st.stderr).toBe('trails: Status #1 was not acknowledged within 0.5 s (not connected to the gateway); the session agent keeps it queued\n');
    const sd = await h.cli(['shutdown', '--timeout', '1'], env);
    expect(sd.code).toBe(1);
    expect(sd.stderr).toMatch(/^trails: disconnect \(completed\) of app .* failed: the gateway could not be reached/);
  });

  it('bad input: bad JSON, missing identity, a wrong key', async () => {
    const env = await h.register();
    const bad = await h.cli(['status', '{nope'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^trails: the status payload is not valid JSON/);
    expect((await h.cli(['result', '[1,'], env)).code).toBe(64);
    expect((await h.cli(['error', 'x', '--detail', '{'], env)).code).toBe(64);
    expect(h.gw.store.getApp(env.TRAILS_APP_ID!)!.last_seq).toBe(0);

    const anon = await h.cli(['result', '{}']);
    expect(anon.code).toBe(64);
    expect(anon.stderr).toContain('TRAILS_APP_ID and TRAILS_APP_KEY must be set');

    const wrongKey = await h.cli(['status', '{}'], { ...env, TRAILS_APP_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('TRAILS_APP_KEY is not the key of this app');
    const garbage = await h.cli(['status', '{}'], { ...env, TRAILS_APP_KEY: 'abc' });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('TRAILS_APP_KEY must be base64 of a 32-byte Ed25519 seed');
  });
});

describe('the session agent socket', () => {
  it('answers only the app key, and survives junk', async () => {
    const env = await h.register();
    const sock = join(h.env.TRAILS_RUNTIME_DIR!, `${env.TRAILS_APP_ID}.sock`);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(h.env.TRAILS_RUNTIME_DIR!).mode & 0o777).toBe(0o700);
    const raw = (line: string) =>
      new Promise<string>((resolve) => {
        const s = connect(sock);
        let buf = '';
        s.on('data', (d) => (buf += String(d)));
        s.on('close', () => resolve(buf));
        s.write(line);
      });
    expect(JSON.parse(await raw('not json\n'))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(JSON.parse(await raw('null\n'))).toMatchObject({ ok: false, code: 'forbidden' });
    expect(JSON.parse(await raw(`${JSON.stringify({ op: 'dance', key: env.TRAILS_APP_KEY })}\n`))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(await callAgent(sock, { op: 'ping', key: env.TRAILS_APP_KEY! }, 2_000)).toMatchObject({ ok: true, appId: env.TRAILS_APP_ID, seq: 0, state: 'ready' });
    expect((await h.cli(['status', '{"still":"fine"}'], env)).code).toBe(0);
  });
});

describe('trails child-info', () => {
  it('declares a scheduled child and prints its TRAILS_INFO (plain, --json, --export)', async () => {
    const env = await h.register(['--name', 'daily-etl']);
    const plain = await h.cli(['child-info', '--name', 'gpu-worker', '--deadline', '120', '--tags', '{"step":"3"}'], env);
    expect(plain.code).toBe(0);
    const cfg = decodeTrailsInfo(plain.stdout.trim());
    expect(cfg).toMatchObject({ parentId: env.TRAILS_APP_ID, appName: 'gpu-worker', startDeadline: 120, secLevel: 'signed', tags: { step: '3' } });
    expect(h.gw.store.getApp(cfg.appId)).toMatchObject({ status: 'scheduled', parent_id: env.TRAILS_APP_ID, app_name: 'gpu-worker', start_deadline: 120 });
    // The gateway is gated (the default): the child's own join token rides in its serverEp, with /ws spelled out.
    const ep = new URL(cfg.serverEp);
    expect(ep.pathname).toBe('/ws');
    expect(joinTokenValid(householdSecret(h.gw), cfg.appId, env.TRAILS_APP_ID!, ep.searchParams.get('join'))).toBe(true);
    expect(new URL(env.TRAILS_INFO ? decodeTrailsInfo(env.TRAILS_INFO).serverEp : '').searchParams.get('join')).toMatch(/^[A-Za-z0-9_-]{22}$/); // trails register got one too

    const exp = await h.cli(['child-info', '--name', 'w2', '--export', 'CHILD'], env);
    expect(exp.stdout).toMatch(/^export CHILD='[A-Za-z0-9+/=]+' CHILD_APP_ID='[0-9a-f-]{36}'\n$/);

    // As the admin, under any parent.
    const adm = await h.cli(['child-info', '--parent', env.TRAILS_APP_ID!, '--name', 'w3', '--json']);
    expect(adm.code).toBe(0);
    const j = JSON.parse(adm.stdout);
    expect(j).toMatchObject({ parentId: env.TRAILS_APP_ID, appName: 'w3' });
    expect(decodeTrailsInfo(j.trailsInfo).serverPubKey).toBe(h.gw.identity.publicKeyText);
  });

  it('refuses an unknown parent (404), a missing parent, bad tags', async () => {
    const nobody = '00000000-0000-4000-8000-000000000001';
    const r = await h.cli(['child-info', '--parent', nobody]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`trails: parent ${nobody} is not known to this gateway (404 not_found)\n`);
    expect((await h.cli(['child-info'])).code).toBe(64);
    expect((await h.cli(['child-info', '--parent', nobody, '--tags', '[1]'])).code).toBe(64);
    expect((await h.cli(['child-info', '--parent', nobody, '--deadline', '0'])).code).toBe(64);
  });
});
