/**
 * Cancel means cancelled, as a script sees it: after `trails cancel --cascade`
 * a `wait --parent … --all` over children of which one never started returns
 * at once with the cancelled exit code (4), not when the unstarted child's
 * start deadline runs out, and nothing in the subtree is reported as failed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, until } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

describe('trails wait after cancel --cascade', () => {
  it('--parent --all returns promptly with 4; the child that never started is cancelled, with no crash', async () => {
    const shell = await h.register(['--name', 'dag']);
    const runner = await h.child(shell, 'runner');
    // Declared with a 10-minute deadline and never started.
    const { appId: ghost } = await h.childInfo(shell, ['--name', 'ghost', '--deadline', '600']);
    const before = h.gw.watch.size;
    const wait = h.cli(['wait', '--parent', shell.TRAILS_APP_ID!, '--all', '--timeout', '60'], shell);
    await until(() => h.gw.watch.size > before, 5_000, 'the watch');
    const t0 = Date.now();
    const cancel = await h.cli(['cancel', '--cascade', '--grace', '2'], shell);
    expect(cancel.code).toBe(0);
    const r = await wait;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout) as Array<{ app_id: string; status: string }>;
    expect(out.map((o) => [o.app_id, o.status]).sort()).toEqual([[ghost, 'cancelled'], [runner.appId, 'cancelled']].sort());
    expect(h.gw.store.getApp(ghost)).toMatchObject({ status: 'cancelled', metadata_json: { cancelled_before_start: true } });
    await until(() => h.gw.store.getApp(runner.appId)?.status === 'cancelled', 5_000, 'runner cancelled');
    expect(h.gw.store.crashes({ app_id: ghost })).toEqual([]);
    expect(h.gw.store.crashes({ app_id: runner.appId })).toEqual([]);
  });
});
