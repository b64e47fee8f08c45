/** trails send and trails cancel: answers, refusals, timeouts, cascades, bad input. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, until } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

describe('trails send', () => {
  it("prints the device's result; --json the whole answer", async () => {
    const shell = await h.register();
    const { appId } = await h.child(shell, 'worker');
    const r = await h.cli(['send', appId, 'ping', '--payload', '{"n":1}'], shell);
    expect(r).toEqual({ code: 0, stdout: '{"pong":true,"got":{"n":1}}\n', stderr: '' });
    const j = await h.cli(['send', appId, 'ping', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'answered', response: { ack: true, result: { pong: true, got: null } } });
  });

  it('exit 1 when the device refuses (or does not know the action), 3 when it does not answer in time', async () => {
    const shell = await h.register();
    const { appId } = await h.child(shell, 'worker');
    const refused = await h.cli(['send', appId, 'refuse'], shell);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: `trails: app ${appId} refused "refuse": not today\n` });
    const unknown = await h.cli(['send', appId, 'dance'], shell);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`trails: app ${appId} refused "dance": unknown_action\n`);
    const slow = await h.cli(['send', appId, 'hang', '--timeout', '0.3'], shell);
    expect(slow.code).toBe(3);
    expect(slow.stderr).toMatch(new RegExp(`^trails: app ${appId} did not answer "hang" within 0.3 s; `));
  });

  it('a bad --payload is refused before anything is sent', async () => {
    const shell = await h.register();
    const { appId, client } = await h.child(shell, 'worker');
    let controls = 0;
    client.events.on('control', () => void controls++);
    const r = await h.cli(['send', appId, 'ping', '--payload', '{"n":'], shell);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^trails: --payload is not valid JSON \(.*\): \{"n":\nUsage: trails send/);
    expect((await h.cli(['send', appId], shell)).code).toBe(64);
    expect((await h.cli(['send', 'nope', 'ping'], shell)).code).toBe(64);
    expect(h.gw.store.messages(appId, { msg_type: 'Control' })).toEqual([]);
    expect(controls).toBe(0);
  });

  it('a child may not control its parent (403); a finished app takes no controls (409)', async () => {
    const shell = await h.register();
    const { appId, info } = await h.childInfo(shell, ['--name', 'sub-shell']);
    const child = await h.register([], { ...shell, TRAILS_INFO: info });
    expect(child.TRAILS_APP_ID).toBe(appId);
    const up = await h.cli(['send', shell.TRAILS_APP_ID!, 'ping'], child);
    expect(up.code).toBe(1);
    expect(up.stderr).toBe(`trails: app ${shell.TRAILS_APP_ID} is not a descendant of app ${appId} (403 forbidden)\n`);
    await h.cli(['result', '{}'], child);
    const late = await h.cli(['send', appId, 'ping'], shell);
    expect(late).toEqual({ code: 1, stdout: '', stderr: `trails: app ${appId} is done; it takes no more controls (409 conflict)\n` });
  });
});

describe('trails cancel', () => {
  it('--cascade cancels bottom-up and prints every node', async () => {
    const shell = await h.register(['--name', 'root']);
    const mid = await h.child(shell, 'mid');
    const leaf = await h.child({ TRAILS_APP_ID: mid.appId }, 'leaf');
    const r = await h.cli(['cancel', '--uuid', shell.TRAILS_APP_ID!, '--cascade', '--grace', '5']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^    leaf \\(${leaf.appId.slice(0, 8)}\\): cancelled in \\d+ ms$`)),
      expect.stringMatching(new RegExp(`^  mid \\(${mid.appId.slice(0, 8)}\\): cancelled in \\d+ ms$`)),
      expect.stringMatching(new RegExp(`^root \\(${shell.TRAILS_APP_ID!.slice(0, 8)}\\): cancelled in \\d+ ms$`)),
    ]);
    for (const id of [shell.TRAILS_APP_ID!, mid.appId, leaf.appId]) expect(h.gw.store.getApp(id)!.status).toBe('cancelled');
  });

  it('--json gives the per-node report', async () => {
    const shell = await h.register();
    const w = await h.child(shell, 'w');
    const r = await h.cli(['cancel', '--uuid', w.appId, '--json'], shell);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ root_app_id: w.appId, cascade: false, nodes: [{ app_id: w.appId, outcome: 'cancelled', depth: 0 }] });
  });

  it('run as the app itself, it cancels its live children (an app may not cancel itself)', async () => {
    const shell = await h.register(['--name', 'script']);
    const a = await h.child(shell, 'a');
    const b = await h.child(shell, 'b');
    b.client.result({});
    await until(() => h.gw.store.getApp(b.appId)?.status === 'done', 5_000, 'b done');
    const r = await h.cli(['cancel', '--cascade'], shell);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`trails: an app cannot cancel itself; cancelling the 1 live child of ${shell.TRAILS_APP_ID} and their subtrees\n`);
    expect(r.stdout).toMatch(/^a \([0-9a-f]{8}\): cancelled in \d+ ms\n$/);
    expect(h.gw.store.getApp(a.appId)!.status).toBe('cancelled');
    expect(h.gw.store.getApp(shell.TRAILS_APP_ID!)!.status).toBe('connected');
  });

  it('an app that already ended: non-zero with the 409 message; bad --grace: usage', async () => {
    const shell = await h.register();
    const w = await h.child(shell, 'w');
    w.client.result({ ok: true });
    await until(() => h.gw.store.getApp(w.appId)?.status === 'done', 5_000, 'done');
    const r = await h.cli(['cancel', '--uuid', w.appId], shell);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `trails: app ${w.appId} is already done (409 conflict)\n` });
    expect((await h.cli(['cancel', '--uuid', w.appId, '--grace', 'long'])).code).toBe(64);
    expect((await h.cli(['cancel'])).code).toBe(64);
  });
});
