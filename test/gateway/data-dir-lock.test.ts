import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../gateway/startup/data-dir-lock.js';
import { StartupError } from '../../gateway/startup/errors.js';

const root = mkdtempSync(join(tmpdir(), 'trails-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the data directory lock', () => {
  it('refuses a second holder in the same process, naming the PID and the lock; free again once released', () => {
    const dir = mkdtempSync(join(root, 'a-'));
    const lock = lockDataDir(dir);
    expect(readFileSync(join(dir, 'gateway.pid'), 'utf8')).toBe(`${process.pid} trailsd\n`);
    expect(() => lockDataDir(dir)).toThrow(StartupError);
    expect(() => lockDataDir(dir)).toThrow(`in use by trailsd PID ${process.pid} (lock ${join(dir, 'gateway.lock')})`);
    lock.release();
    lockDataDir(dir).release();
  });

  it('is held by another process while it lives, and free as soon as it is killed with SIGKILL', async () => {
    const dir = mkdtempSync(join(root, 'b-'));
    const lockModule = resolve('dist/gateway/startup/data-dir-lock.js');
    const child = spawn(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(lockModule)})).lockDataDir(${JSON.stringify(dir)}, 'holder'); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    expect(() => lockDataDir(dir)).toThrow(`in use by holder PID ${child.pid}`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const lock = lockDataDir(dir); // the kernel dropped the lock with the process; the stale PID file does not matter
    lock.release();
  });
});
