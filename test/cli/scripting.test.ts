/**
 * The CLI in scripts: one JSON document on stdout under --json (failures
 * included, exit codes unchanged), app id prefixes, tree filters, finding
 * the gateway from TRAILS_LISTEN or DIR/listen, and child-info's tier.
 */
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrailsClient } from '../../client/client.js';
import { decodeTrailsInfo, withJoinToken } from '../../client/config.js';
import { joinToken } from '../../gateway/device/join-gate.js';
import { silentLogger } from '../../client/log.js';
import { deadPort, Harness, until } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

/** stdout must be exactly one JSON document. */
const doc = (stdout: string): Record<string, unknown> => {
  expect(stdout.endsWith('\n') && !stdout.slice(0, -1).includes('\n')).toBe(true);
  return JSON.parse(stdout) as Record<string, unknown>;
};

/** A root app with an id of our choosing (an open-tier device). */
async function appWithId(appId: string, name: string): Promise<TrailsClient> {
  // A root app on the gated gateway: its join token, as POST /api/v1/join-tokens would hand it out.
  const serverEp = withJoinToken(h.gw.url, joinToken(h.gw.hub.options.householdKey!, appId, null));
  const c = TrailsClient.initWith({ v: 1, appId, parentId: null, appName: name, serverEp, serverPubKey: null, secLevel: 'open' }, { logger: silentLogger });
  h.devices.push(c);
  await c.events.next('registered', () => true, 5_000);
  return c;
}

describe('--json failures', () => {
  it('usage, refusal, unreachable, missing identity: one {"error"} document each, same exit code, same stderr line', async () => {
    const usage = await h.cli(['tree', '--actve', '--json']);
    expect(usage.code).toBe(64);
    expect(doc(usage.stdout)).toEqual({ error: { code: 'usage', message: 'unknown option --actve; did you mean --active?', exit_code: 64 } });
    expect(usage.stderr).toMatch(/^trails: unknown option --actve; did you mean --active\?\nUsage: trails tree /);

    const nobody = '00000000-0000-4000-8000-000000000404';
    const missing = await h.cli(['status', '--uuid', nobody, '--json']);
    expect(missing.code).toBe(1);
    expect(doc(missing.stdout)).toEqual({ error: { code: 'not_found', status: 404, message: `no app ${nobody} is known to this gateway (404 not_found)`, exit_code: 1 } });
    expect(missing.stderr).toBe(`trails: no app ${nobody} is known to this gateway (404 not_found)\n`);

    const port = await deadPort();
    const down = await h.cli(['tree', '--json', '--server', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(doc(down.stdout)).toMatchObject({ error: { code: 'failed', exit_code: 1, message: expect.stringContaining('cannot reach the gateway') } });

    const anon = await h.cli(['--json', 'result', '{}']);
    expect(anon.code).toBe(64);
    expect(doc(anon.stdout)).toMatchObject({ error: { code: 'usage' } });

    const none = await h.cli(['--json']);
    expect(none.code).toBe(64);
    expect(doc(none.stdout)).toMatchObject({ error: { code: 'usage', message: 'give a command' } });
  });

  it('a command that prints its own JSON and then fails prints no second document (send refused, wait timeout)', async () => {
    const shell = await h.register();
    const { appId } = await h.child(shell, 'worker');
    const refused = await h.cli(['send', appId, 'refuse', '--json'], shell);
    expect(refused.code).toBe(1);
    expect(doc(refused.stdout)).toMatchObject({ status: 'answered', response: { ack: false } });
    const slow = await h.cli(['wait', '--uuid', appId, '--timeout', '0.2', '--json'], shell);
    expect(slow.code).toBe(3);
    expect(doc(slow.stdout)).toMatchObject({ timeout: true });
  });
});

describe('app id prefixes', () => {
  it('the 8 characters tree prints work wherever an id is taken', async () => {
    const shell = await h.register(['--name', 'etl']);
    const { appId, client } = await h.child(shell, 'worker');
    const short = appId.slice(0, 8);
    const st = await h.cli(['status', '--uuid', short, '--json']);
    expect(st.code).toBe(0);
    expect(doc(st.stdout)).toMatchObject({ app: { app_id: appId } });
    expect(await h.cli(['send', short, 'ping'], shell)).toMatchObject({ code: 0, stdout: '{"pong":true,"got":null}\n' });
    expect((await h.cli(['children', '--uuid', shell.TRAILS_APP_ID!.slice(0, 6).toUpperCase()])).stdout).toContain(appId);
    const kid = await h.cli(['child-info', '--parent', shell.TRAILS_APP_ID!.slice(0, 8), '--json']);
    expect(doc(kid.stdout)).toMatchObject({ parentId: shell.TRAILS_APP_ID });
    client.result({ ok: 1 });
    const w = await h.cli(['wait', '--uuids', `${short},${kid.stdout.match(/"appId":"([0-9a-f]{8})/)![1]}`, '--any', '--json'], shell);
    expect(doc(w.stdout)).toMatchObject({ app_id: appId, status: 'done' });
  });

  it('an ambiguous prefix lists the matches and exits 64; an unknown one exits 1; too short is a usage error', async () => {
    const a = `abcd0001-${randomUUID().slice(9)}`;
    const b = `abcd0002-${randomUUID().slice(9)}`;
    await appWithId(a, 'first');
    await appWithId(b, 'second');
    const r = await h.cli(['status', '--uuid', 'abcd']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`trails: --uuid abcd fits 2 apps; give more of the id:\n  ${a}  first [connected]\n  ${b}  second [connected]\n`);
    const j = await h.cli(['cancel', '--uuid', 'ABCD', '--json']);
    expect(j.code).toBe(64);
    expect(doc(j.stdout)).toMatchObject({ error: { code: 'ambiguous_id', exit_code: 64, matches: [{ app_id: a, app_name: 'first' }, { app_id: b, app_name: 'second' }] } });
    expect(h.gw.store.getApp(a)!.status).toBe('connected');
    expect((await h.cli(['status', '--uuid', 'abcd0001'])).stdout).toContain(a);
    const none = await h.cli(['status', '--uuid', 'fedc']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('trails: --uuid fedc: no app id that this identity can see starts with it\n');
    expect((await h.cli(['status', '--uuid', 'abc'])).code).toBe(64);
    const positional = await h.cli(['status', 'abcd0001']);
    expect(positional).toMatchObject({ code: 64, stderr: expect.stringMatching(/^trails: "abcd0001" is not a JSON payload to report; to query that app, give --uuid abcd0001\n/) });
  });

  it('an app resolves prefixes only within its own subtree', async () => {
    const a = await h.register(['--name', 'a']);
    const b = await h.register(['--name', 'b']);
    const r = await h.cli(['tree', '--uuid', b.TRAILS_APP_ID!.slice(0, 8)], a);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no app id that this identity can see starts with it');
  });
});

describe('trails tree filters', () => {
  it('--active hides ended apps but keeps the parents of live ones; --depth; --since', async () => {
    const shell = await h.register(['--name', 'root']);
    const done = await h.child(shell, 'finished');
    const live = await h.child(shell, 'live');
    done.client.result({});
    await until(() => h.gw.store.getApp(done.appId)?.status === 'done', 5_000, 'done');
    const names = async (args: string[]) => (await h.cli(['tree', ...args], shell)).stdout.trimEnd().split('\n').map((l) => l.replace(/^[├└│ ─]+/, '').split(' ')[0]);
    expect(await names([])).toEqual(['root', 'finished', 'live']);
    expect(await names(['--active'])).toEqual(['root', 'live']);
    expect(await names(['--depth', '0'])).toEqual(['root']);
    expect(await names(['--since', '1h'])).toEqual(['root', 'finished', 'live']);
    const j = JSON.parse((await h.cli(['tree', '--active', '--json'], shell)).stdout);
    expect(j.trees[0].children.map((c: { app_id: string }) => c.app_id)).toEqual([live.appId]);
    expect((await h.cli(['tree', '--since', 'yesterday'], shell)).code).toBe(64);
  });
});

describe('finding the gateway', () => {
  it('without --server or TRAILS_SERVER: TRAILS_LISTEN (wildcard host → loopback), else DIR/listen, else the default', async () => {
    const env = { TRAILS_SERVER: '' };
    const listen = `0.0.0.0:${h.gw.port}`;
    expect((await h.cli(['tree', '--json'], { ...env, TRAILS_LISTEN: listen })).code).toBe(0);
    const file = join(h.gw.config.dataDir, 'listen');
    writeFileSync(file, `127.0.0.1:${h.gw.port}\n`);
    try {
      expect((await h.cli(['tree', '--json'], env)).code).toBe(0);
      writeFileSync(file, 'not an address\n');
      const bad = await h.cli(['tree'], env);
      expect(bad).toMatchObject({ code: 1, stderr: `trails: ${file} must be HOST:PORT such as 0.0.0.0:8443, not "not an address"\n` });
    } finally {
      rmSync(file);
    }
    const dflt = await h.cli(['tree'], env);
    expect(dflt.stderr).toContain('http://127.0.0.1:8443');
    expect((await h.cli(['tree'], { ...env, TRAILS_LISTEN: '[::]:1' })).stderr).toContain('http://[::1]:1');
  });
});

describe('trails child-info --sec-level', () => {
  it("defaults to the parent's tier from its TRAILS_INFO, else open; --sec-level overrides; a bad tier is usage", async () => {
    const shell = await h.register(['--name', 'p']);
    const inherit = decodeTrailsInfo((await h.cli(['child-info'], shell)).stdout.trim());
    expect(inherit.secLevel).toBe('signed');
    const admin = JSON.parse((await h.cli(['child-info', '--parent', shell.TRAILS_APP_ID!, '--json'])).stdout);
    expect(admin.secLevel).toBe('open');
    expect(decodeTrailsInfo(admin.trailsInfo).secLevel).toBe('open');
    expect(h.gw.store.getApp(admin.appId)).toMatchObject({ status: 'scheduled', sec_level: 'open' });
    const open = decodeTrailsInfo((await h.cli(['child-info', '--sec-level', 'open'], shell)).stdout.trim());
    expect(open.secLevel).toBe('open');
    const dev = await h.device((await h.cli(['child-info', '--sec-level', 'open', '--name', 'plain'], shell)).stdout.trim());
    expect(dev.isConnected).toBe(true);
    const bad = await h.cli(['child-info', '--sec-level', 'high'], shell);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^trails: --sec-level must be one of open, signed, encrypted, full, not "high"/);
  });
});
