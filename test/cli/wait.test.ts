/**
 * trails wait over the watch WebSocket: the exit codes of spec §14 (0 done,
 * 1 error, 2 crashed/start_failed, 3 timeout, 4 cancelled), an app that
 * never existed, --progress, --json, and the --parent/--uuids forms.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, sleep, until } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

/** A wait started in the background, with a hook to know when its watch is in place. */
function waitFor(args: string[], env = {}) {
  const before = h.gw.watch.size;
  const p = h.cli(['wait', ...args], env);
  return { done: p, watching: () => until(() => h.gw.watch.size > before, 5_000, 'the watch') };
}

describe('trails wait --uuid', () => {
  it('0: prints the Result payload once the child is done; --progress narrates on stderr', async () => {
    const shell = await h.register(['--name', 'daily-etl']);
    const { appId, client } = await h.child(shell, 'gpu-worker');
    const w = waitFor(['--uuid', appId, '--timeout', '30', '--progress'], shell);
    await w.watching();
    client.status({ phase: 'load', progress: 0.25 });
    client.status({ phase: 'train', progress: 0.75 });
    await client.flush();
    client.result({ rows: 100000, pii_cols: 4 });
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"rows":100000,"pii_cols":4}\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^gpu-worker \([0-9a-f]{8}\) \[connected\]$/);
    expect(lines).toContain(`gpu-worker (${appId.slice(0, 8)}) Status #1 ▶ 25%: {"phase":"load","progress":0.25}`);
    expect(lines).toContain(`gpu-worker (${appId.slice(0, 8)}) Status #2 ▶ 75%: {"phase":"train","progress":0.75}`);
    expect(lines.at(-1)).toBe(`gpu-worker (${appId.slice(0, 8)}) → done`);
  });

  it('an app that already ended answers at once, from the catch-up', async () => {
    const shell = await h.register();
    const { appId, client } = await h.child(shell, 'quick');
    client.result({ ok: 1 });
    await until(() => h.gw.store.getApp(appId)?.status === 'done', 5_000, 'done');
    const r = await h.cli(['wait', '--uuid', appId, '--json', '--progress'], shell);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ app_id: appId, app_name: 'quick', status: 'done', exit_code: 0, result: { ok: 1 } });
    expect(JSON.parse(r.stderr)).toEqual({ type: 'found', app_id: appId, app_name: 'quick', status: 'done' });
  });

  it('1: the child failed; stdout has its Error payload, stderr its message', async () => {
    const shell = await h.register();
    const { appId, client } = await h.child(shell, 'worker');
    const w = waitFor(['--uuid', appId], shell);
    await w.watching();
    client.error('out of memory', { rss_mb: 4096 });
    const r = await w.done;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ message: 'out of memory', detail: { rss_mb: 4096 } });
    expect(r.stderr).toBe(`trails: worker (${appId}) failed: out of memory\n`);
  });

  it('2: the child crashed (its connection dropped)', async () => {
    const shell = await h.register();
    const { appId, client } = await h.child(shell, 'worker');
    const w = waitFor(['--uuid', appId, '--json'], shell);
    await w.watching();
    client.connection!.close();
    const r = await w.done;
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ app_id: appId, status: 'crashed', exit_code: 2, crash_type: 'connection_drop' });
    expect(r.stderr).toBe(`trails: worker (${appId}) crashed (connection_drop)\n`);
  });

  it('2: a declared child that never started (start_failed)', async () => {
    const shell = await h.register();
    const { appId } = await h.childInfo(shell, ['--name', 'ghost', '--deadline', '1']);
    const r = await h.cli(['wait', '--uuid', appId, '--timeout', '15'], shell);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trails: ghost (${appId}) never started (start_failed, never_started)\n`);
  });

  it('3: timeout, with what it was still waiting for', async () => {
    const shell = await h.register();
    const { appId } = await h.child(shell, 'slow');
    const r = await h.cli(['wait', '--uuid', appId, '--timeout', '0.3'], shell);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`trails: timed out after 0.3 s; still waiting for slow (${appId}) [connected]\n`);
    await until(() => h.gw.watch.size === 0, 5_000, 'the watch closed');
  });

  it('4: the child was cancelled', async () => {
    const shell = await h.register();
    const { appId } = await h.child(shell, 'victim');
    const w = waitFor(['--uuid', appId], shell);
    await w.watching();
    expect((await h.cli(['cancel', '--uuid', appId], shell)).code).toBe(0);
    const r = await w.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`trails: victim (${appId}) was cancelled\n`);
  });

  it('1: an app that never existed, said as "no app <id>"', async () => {
    const nobody = '00000000-0000-4000-8000-00000000beef';
    const r = await h.cli(['wait', '--uuid', nobody, '--timeout', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`trails: no app ${nobody} is known to this gateway (404 not_found)\n`);
  });

  it('refuses to wait outside its own subtree (403), and bad command lines (64)', async () => {
    const a = await h.register(['--name', 'a']);
    const b = await h.register(['--name', 'b']);
    const r = await h.cli(['wait', '--uuid', b.TRAILS_APP_ID!], a);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trails: app .* is not in the subtree of app .* \(403 forbidden\)\n$/);
    expect((await h.cli(['wait'])).code).toBe(64);
    expect((await h.cli(['wait', '--uuid', 'x'])).code).toBe(64);
    expect((await h.cli(['wait', '--uuid', a.TRAILS_APP_ID!, '--any'])).code).toBe(64);
    expect((await h.cli(['wait', '--parent', a.TRAILS_APP_ID!])).code).toBe(64);
    expect((await h.cli(['wait', '--uuid', a.TRAILS_APP_ID!, '--timeout', 'soon'])).code).toBe(64);
  });
});

describe('trails wait --parent / --uuids', () => {
  it('--parent --any ends with the first child to end; grandchildren do not count', async () => {
    const shell = await h.register(['--name', 'dag']);
    const one = await h.child(shell, 'one');
    const two = await h.child(shell, 'two');
    // Declared by the admin under `one`.
    const grandchild = await h.child({ TRAILS_APP_ID: one.appId }, 'grand');
    const w = waitFor(['--parent', shell.TRAILS_APP_ID!, '--any', '--json'], shell);
    await w.watching();
    grandchild.client.result({ g: 1 });
    await sleep(200);
    two.client.result({ n: 2 });
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ app_id: two.appId, app_name: 'two', status: 'done', result: { n: 2 } });
    expect(r.stderr).toBe(`trails: two (${two.appId}) done\n`);
  });

  it('--parent --all waits for every child and exits with the first that did not succeed', async () => {
    const shell = await h.register(['--name', 'dag']);
    const a = await h.child(shell, 'a');
    const b = await h.child(shell, 'b');
    const w = waitFor(['--parent', shell.TRAILS_APP_ID!, '--all'], shell);
    await w.watching();
    a.client.error('bad input');
    await sleep(100);
    b.client.result({ ok: true });
    const r = await w.done;
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as Array<{ app_id: string; status: string }>;
    expect(out.map((o) => [o.app_id, o.status])).toEqual([
      [a.appId, 'error'],
      [b.appId, 'done'],
    ]);
    expect(r.stderr).toBe(`trails: a (${a.appId}) failed: bad input\n`);
  });

  it('--parent of an app with no children is an error; --uuids --any takes the first of several', async () => {
    const shell = await h.register(['--name', 'lonely']);
    const none = await h.cli(['wait', '--parent', shell.TRAILS_APP_ID!, '--all'], shell);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`trails: app ${shell.TRAILS_APP_ID} has no children to wait for\n`);

    const a = await h.child(shell, 'a');
    const b = await h.child(shell, 'b');
    const w = waitFor(['--uuids', `${a.appId},${b.appId}`, '--any'], shell);
    await until(() => h.gw.watch.size >= 2, 5_000, 'two watches');
    b.client.connection!.close();
    const r = await w.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trails: b (${b.appId}) crashed (connection_drop)\n`);
    await w.watching().catch(() => undefined);
    await until(() => h.gw.watch.size === 0, 5_000, 'watches closed');
  });

  it('--uuids --all with one unknown id fails with that id', async () => {
    const shell = await h.register();
    const a = await h.child(shell, 'a');
    const nobody = '00000000-0000-4000-8000-00000000dead';
    const r = await h.cli(['wait', '--uuids', `${a.appId},${nobody}`, '--all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no app ${nobody}`);
  });
});
