/**
 * The CLI story of spec §25 ("Example: Bash Pipeline") as a real bash script:
 * `trails` on PATH is the bin (node cli/main.ts through tsx), session agents
 * are real detached processes, the child is a node process with the
 * TypeScript client and TRAILS_INFO=$CHILD. The gateway runs in this process.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, until } from './support/harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

function setup(): { env: NodeJS.ProcessEnv } {
  const bin = join(h.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'trails'), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${join(ROOT, 'cli', 'main.ts')}" "$@"\n`);
  chmodSync(join(bin, 'trails'), 0o755);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRAILS_')) env[k] = v;
  Object.assign(env, h.env, { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NODE: process.execPath, TSX, CLIENT: join(ROOT, 'client', 'index.ts') });
  return { env };
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(h.dir, 'script.sh');
  writeFileSync(file, script);
  return new Promise((done) => {
    execFile('bash', [file], { cwd: h.dir, env, timeout: 110_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const WORKER = `
const { TrailsClient } = await import(process.env.CLIENT);
const trails = TrailsClient.init();
// Some work first: the script's trails wait is usually watching by the time the reports come.
await new Promise((r) => setTimeout(r, 1500));
trails.status({ phase: 'load', progress: 0.5 });
await trails.flush();
await new Promise((r) => setTimeout(r, 200));
trails.status({ phase: 'train', progress: 0.9 });
await trails.flush();
trails.result({ rows: 100000, pii_cols: 4 });
await trails.flush();
await trails.shutdown();
`;

const PIPELINE = `#!/bin/bash
set -u
eval $(trails register --name "daily-etl")

CHILD=$(trails child-info --name "gpu-worker")
CHILD_APP_ID=$(printf '%s' "$CHILD" | base64 -d | sed -n 's/.*"appId":"\\([0-9a-f-]*\\)".*/\\1/p')
TRAILS_INFO="$CHILD" "$NODE" --import "$TSX" worker.mjs &
WORKER=$!

trap 'trails cancel --cascade; exit 1' INT TERM

RESULT=$(trails wait --uuid $CHILD_APP_ID --timeout 30 --progress 2>progress.txt)
echo "WAIT_CODE=$?"
echo "Result: $RESULT"
wait $WORKER

trails tree > tree.txt
trails result '{"steps_completed": 1}'
echo "RESULT_CODE=$?"
trails shutdown
echo "SHUTDOWN_CODE=$?"
echo "APP_ID=$TRAILS_APP_ID"
echo "CHILD_APP_ID=$CHILD_APP_ID"
`;

describe('§25 Example: Bash Pipeline', () => {
  it('register, child-info, a child that reports and finishes, wait with its result and exit 0, tree, result, shutdown', { timeout: 120_000 }, async () => {
    const { env } = setup();
    writeFileSync(join(h.dir, 'worker.mjs'), WORKER);
    const r = await bash(PIPELINE, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const vars = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=') >= 0 && !l.startsWith('Result:') ? l.indexOf('=') : l.indexOf(':')), l]));
    const get = (k: string): string => (vars[k] ?? '').slice(k.length + 1).trim();
    expect(get('WAIT_CODE')).toBe('0');
    expect(get('Result')).toBe('{"rows":100000,"pii_cols":4}');
    expect(get('RESULT_CODE')).toBe('0');
    expect(get('SHUTDOWN_CODE')).toBe('0');
    const appId = get('APP_ID');
    const childId = get('CHILD_APP_ID');

    // Live events, or (when the child was faster than the wait's start) the catch-up's latest status.
    const progress = readFileSync(join(h.dir, 'progress.txt'), 'utf8');
    expect(progress).toMatch(/gpu-worker \([0-9a-f]{8}\) (Status #2 ▶ 90%|\[(running ▶ 90%|done)\] last status #2): \{"phase":"train","progress":0.9\}/);
    expect(progress).toMatch(/gpu-worker \([0-9a-f]{8}\) (→ done|\[done\])/);

    const tree = readFileSync(join(h.dir, 'tree.txt'), 'utf8').trimEnd().split('\n');
    expect(tree).toHaveLength(2);
    expect(tree[0]).toMatch(new RegExp(`^daily-etl \\(${appId.slice(0, 8)}\\) \\[connected\\] bash@${hostname()}:\\d+$`));
    expect(tree[1]).toMatch(new RegExp(`^└── gpu-worker \\(${childId.slice(0, 8)}\\) \\[done ✓\\] worker\\.mjs@${hostname()}:\\d+$`));

    expect(h.gw.store.getApp(childId)).toMatchObject({ status: 'done', parent_id: appId, app_name: 'gpu-worker' });
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'done', app_name: 'daily-etl' });
    expect(h.gw.store.messages(appId, { msg_type: 'Result' }).map((m) => m.payload_json)).toEqual([{ steps_completed: 1 }]);

    // The script is over: its session agent follows it out.
    const run = h.env.TRAILS_RUNTIME_DIR!;
    await until(() => !existsSync(run) || readdirSync(run).every((f) => !f.endsWith('.sock')), 10_000, 'the session agent to exit');
    expect(h.gw.store.getApp(appId)!.status).toBe('done');
  });

  it('a script that exits without trails shutdown leaves its app crashed', { timeout: 60_000 }, async () => {
    const { env } = setup();
    const r = await bash(`eval "$(trails register --name oops)"\ntrails status '{"step":1}' || exit 9\necho "$TRAILS_APP_ID"\nexit 3\n`, env);
    expect(r.code).toBe(3);
    const appId = r.stdout.trim();
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'running', last_seq: 1 });
    await until(() => h.gw.store.getApp(appId)?.status === 'crashed', 10_000, 'crashed');
    expect(h.gw.store.crashes({ app_id: appId })[0]!.crash_type).toBe('connection_drop');
  });
});
