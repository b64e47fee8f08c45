/**
 * The query commands (tree, children, status --uuid) and how every command
 * reports a refusal or a failure: one line on stderr, a non-zero code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateAdminKey } from '../../gateway/auth/admin-key.js';
import { Harness, sleep, until } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const airflow = { pid: 12345, hostname: 'airflow-pod-x', executable: '/usr/bin/python' };
const s8 = (id: string): string => id.slice(0, 8);

/** The tree of spec §25: daily-etl with extract (done), load (75%) with spark-job, notify (not started). */
async function specTree() {
  const shell = await h.register(['--name', 'daily-etl'], { SHELL: '/bin/bash' });
  await h.cli(['status', '{"progress":0.1}'], shell);
  const extract = await h.child(shell, 'extract', airflow);
  await sleep(5);
  const load = await h.child(shell, 'load', airflow);
  await sleep(5);
  const notify = await h.childInfo(shell, ['--name', 'notify']);
  const spark = await h.child({ TRAILS_APP_ID: load.appId }, 'spark-job', { pid: 4242, hostname: 'k8s', executable: 'java' });
  extract.client.result({ rows: 1 });
  load.client.status({ progress: 0.75 });
  spark.client.status({ phase: 'stage-2' });
  await until(() => h.gw.store.latestSnapshot(spark.appId) && h.gw.store.latestSnapshot(load.appId) && h.gw.store.getApp(extract.appId)?.status === 'done', 5_000, 'reports');
  return { shell, extract, load, notify, spark };
}

describe('trails tree', () => {
  it('draws the §25 picture of the shell subtree (as the shell app, no --uuid)', async () => {
    const t = await specTree();
    const r = await h.cli(['tree'], t.shell);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`daily-etl (${s8(t.shell.TRAILS_APP_ID!)}) [running ▶ 10%] bash@${hostname()}`);
    expect(lines.slice(1)).toEqual([
      `├── extract (${s8(t.extract.appId)}) [done ✓] python@airflow-pod-x:12345`,
      `├── load (${s8(t.load.appId)}) [running ▶ 75%] python@airflow-pod-x:12345`,
      `│   └── spark-job (${s8(t.spark.appId)}) [running] java@k8s:4242`,
      `└── notify (${s8(t.notify.appId)}) [scheduled ⏳] — not started`,
    ]);
  });

  it('--uuid draws a subtree; --json nests it; the admin without an app sees every tree', async () => {
    const t = await specTree();
    const sub = await h.cli(['tree', '--uuid', t.load.appId]);
    expect(sub.stdout).toBe(`load (${s8(t.load.appId)}) [running ▶ 75%] python@airflow-pod-x:12345\n└── spark-job (${s8(t.spark.appId)}) [running] java@k8s:4242\n`);

    const j = JSON.parse((await h.cli(['tree', '--uuid', t.load.appId, '--json'])).stdout);
    expect(j.trees).toHaveLength(1);
    expect(j.trees[0]).toMatchObject({ app_id: t.load.appId, progress: 75, children: [{ app_id: t.spark.appId, children: [] }] });

    const other = await h.register(['--name', 'other-root']);
    const all = await h.cli(['tree']);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n').filter((l) => !/^[├└│ ]/.test(l) && l)).toEqual([
      expect.stringMatching(/^daily-etl /),
      expect.stringMatching(new RegExp(`^other-root \\(${s8(other.TRAILS_APP_ID!)}\\) \\[connected\\]`)),
    ]);
  });

  it('an app sees only its own subtree (403 outside it)', async () => {
    const a = await h.register(['--name', 'a']);
    const b = await h.register(['--name', 'b']);
    const r = await h.cli(['tree', '--uuid', b.TRAILS_APP_ID!], a);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`trails: app ${b.TRAILS_APP_ID} is not in the subtree of app ${a.TRAILS_APP_ID} (403 forbidden)\n`);
  });
});

describe('trails children', () => {
  it('lists direct children, the subtree with --recursive, filters by --status; --json', async () => {
    const t = await specTree();
    const direct = await h.cli(['children'], t.shell);
    expect(direct.code).toBe(0);
    const rows = direct.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^APP_ID\s+STATUS\s+NAME\s+WHERE$/);
    expect(rows.slice(1).map((l) => l.split(/\s{2,}/)[2])).toEqual(['extract', 'load', 'notify']);
    expect(rows[1]).toContain('python@airflow-pod-x:12345');

    const rec = await h.cli(['children', '--recursive', '--json'], t.shell);
    const j = JSON.parse(rec.stdout);
    expect(j).toMatchObject({ app_id: t.shell.TRAILS_APP_ID, recursive: true });
    expect(j.children.map((c: { app_name: string }) => c.app_name).sort()).toEqual(['extract', 'load', 'notify', 'spark-job']);

    const sched = await h.cli(['children', '--uuid', t.shell.TRAILS_APP_ID!, '--status', 'scheduled']);
    expect(sched.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual([t.notify.appId]);

    expect((await h.cli(['children', '--uuid', t.notify.appId])).stdout).toBe('(no children)\n');
    const bad = await h.cli(['children', '--status', 'sleeping'], t.shell);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^trails: --status must be one of scheduled, /);
  });
});

describe('trails status --uuid', () => {
  it('says where an app is now, without waiting: running, done with its result, crashed with its crash', async () => {
    const t = await specTree();
    const run = await h.cli(['status', '--uuid', t.load.appId]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`load (${s8(t.load.appId)}) [running ▶ 75%] python@airflow-pod-x:12345`);
    expect(run.stdout).toContain('status   #1 {"progress":0.75}');

    const done = JSON.parse((await h.cli(['status', '--uuid', t.extract.appId, '--json'])).stdout);
    expect(done).toMatchObject({ app: { app_id: t.extract.appId, status: 'done' }, result: { rows: 1 } });

    t.spark.client.connection!.close();
    await until(() => h.gw.store.getApp(t.spark.appId)?.status === 'crashed', 5_000, 'crashed');
    const crashed = await h.cli(['status', '--uuid', t.spark.appId]);
    expect(crashed.stdout).toMatch(/\[crashed ✗\][\s\S]*crash    connection_drop at /);
  });

  it('an unknown app is a 404 line; a malformed id a usage error', async () => {
    const nobody = '00000000-0000-4000-8000-000000000404';
    const r = await h.cli(['status', '--uuid', nobody]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `trails: no app ${nobody} is known to this gateway (404 not_found)\n` });
    expect((await h.cli(['status', '--uuid', '42'])).code).toBe(64);
    expect((await h.cli(['status'])).code).toBe(64);
  });
});

describe('errors of every kind', () => {
  it('unreachable gateway, foreign admin key (401), missing admin key, bad --server', async () => {
    const other = mkdtempSync(join(tmpdir(), 'trails-cli-other-'));
    try {
      loadOrCreateAdminKey(other);
      const r401 = await h.cli(['tree', '--data-dir', other]);
      expect(r401.code).toBe(1);
      expect(r401.stderr).toBe(
        `trails: this key is not the admin key of this gateway; an app names itself in X-Trails-App (401 unknown_key); is ${other} the data directory of the gateway at ${h.gw.url}?\n`,
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const none = await h.cli(['tree', '--data-dir', join(h.dir, 'nowhere')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`trails: no admin key at ${join(h.dir, 'nowhere', 'admin.key')}; pass the gateway's --data-dir (or TRAILS_DATA_DIR), or act as an app with TRAILS_APP_ID and TRAILS_APP_KEY\n`);
    const badUrl = await h.cli(['tree', '--server', 'not a url']);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('--server must be a URL');
  });

  it('usage: no command, unknown command, unknown option, --help for all and for each command', async () => {
    const none = await h.cli([]);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/^trails: give a command\nUsage: trails COMMAND/);
    const unknown = await h.cli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/^trails: unknown command "frobnicate"\nUsage: trails COMMAND/);
    const opt = await h.cli(['tree', '--bogus']);
    expect(opt.code).toBe(64);
    expect(opt.stderr).toMatch(/^trails: unknown option --bogus\nUsage: trails tree/);
    const help = await h.cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['tree', 'children', 'status', 'send', 'cancel', 'wait', 'child-info', 'register', 'result', 'error', 'shutdown']) {
      expect(help.stdout).toContain(`  ${c} `);
      const one = await h.cli([c, '--help']);
      expect(one.code).toBe(0);
      expect(one.stdout).toContain(`trails ${c}`);
    }
    // Global options before the command work too.
    expect((await h.cli(['--json', '--server', h.gw.url, 'tree'])).stdout).toBe('{"trees":[]}\n');
  });
});
