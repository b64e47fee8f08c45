/**
 * The README's client example, run as written: the block after the
 * "client-example" marker, in a node process of its own with a TRAILS_INFO
 * from `trails child-info`, paused and resumed by `trails send` with the
 * 8-character id. Its import is pointed at the source (client/index.ts)
 * so the test needs no build; the `trails-gateway/client` export itself is
 * checked against the build when there is one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, sleep, until } from '../cli/support/harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SPECIFIER = 'trails-gateway/client';

function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- client-example[^\n]*-->\n```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no client-example block');
  return m[1]!;
}

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

describe('README: the TypeScript client as a library', () => {
  it('the example is about 15 lines and imports the package export', () => {
    const code = readmeExample();
    expect(code).toContain(`from '${SPECIFIER}'`);
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(18);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['./client']).toEqual({ types: './dist/client/index.d.ts', default: './dist/client/index.js' });
  });

  it('runs: registers, obeys pause and resume, reports five steps and its result, ends done', { timeout: 60_000 }, async () => {
    const shell = await h.register(['--name', 'readme']);
    const { appId, info } = await h.childInfo(shell, ['--name', 'example']);
    const code = readmeExample().replace(`'${SPECIFIER}'`, JSON.stringify(join(ROOT, 'client', 'index.ts')));
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, TRAILS_INFO: info }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));

    await until(() => h.gw.store.getApp(appId)?.status !== 'scheduled', 15_000, 'the example to register');
    const short = appId.slice(0, 8);
    expect(await h.cli(['send', short, 'pause'], shell)).toMatchObject({ code: 0, stdout: '{"paused":true}\n' });
    const before = h.gw.store.messages(appId, { msg_type: 'Status' }).length;
    await sleep(700);
    expect(h.gw.store.messages(appId, { msg_type: 'Status' }).length).toBeLessThanOrEqual(before + 1);
    expect(await h.cli(['send', short, 'resume'], shell)).toMatchObject({ code: 0, stdout: '{"paused":false}\n' });

    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'done', app_name: 'example', parent_id: shell.TRAILS_APP_ID });
    expect(h.gw.store.messages(appId, { msg_type: 'Status' }).map((m) => m.payload_json)).toEqual([1, 2, 3, 4, 5].map((step) => ({ step, progress: step / 5 })));
    expect(h.gw.store.messages(appId, { msg_type: 'Result' }).map((m) => m.payload_json)).toEqual([{ steps: 5 }]);
  });

  it.skipIf(!existsSync(join(ROOT, 'dist', 'client', 'index.js')))('the export resolves in the build, with its types', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import('${SPECIFIER}'); console.log(typeof m.TrailsClient.init, typeof m.silentLogger)`], { cwd: ROOT });
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe('function object\n');
    expect(existsSync(join(ROOT, 'dist', 'client', 'index.d.ts'))).toBe(true);
  });
});
