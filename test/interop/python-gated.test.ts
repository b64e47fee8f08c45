/**
 * The registration gate with the reference Python client, unchanged: on a
 * gated gateway (the default), a TRAILS_INFO made by `trails child-info`
 * carries the child's join token in serverEp (ws://host/ws?join=TOKEN), and
 * the client, which only reads serverEp, registers from it. A new root app
 * gets in with the serverEp POST /join-tokens answers, and a stranger
 * without one is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTrailsInfo } from '../../client/config.js';
import { joinToken } from '../../gateway/device/join-gate.js';
import { Harness } from '../cli/support/harness.js';
import { FrameSocket } from '../conformance/frame-socket.js';
import { newSigningKey } from '../conformance/signatures.js';
import { findReferenceClient, PythonRun, type ReferenceClient } from './reference-client.js';
import { FROM_ENV, LIFECYCLE } from './python-drivers.js';

const lookup = findReferenceClient();

describe.skipIf(!lookup.ok)('reference Python client against a gated gateway', () => {
  const client = lookup.ok ? lookup.client : (undefined as unknown as ReferenceClient);
  let h: Harness;
  let scripts = '';
  const runs: PythonRun[] = [];
  const run = (script: string, args: string[], env: Record<string, string> = {}): PythonRun => {
    const r = new PythonRun(client, join(scripts, `${script}.py`), args, env);
    runs.push(r);
    return r;
  };

  beforeAll(async () => {
    scripts = mkdtempSync(join(tmpdir(), 'trails-py-gated-'));
    for (const [name, text] of Object.entries({ LIFECYCLE, FROM_ENV })) writeFileSync(join(scripts, `${name}.py`), text);
    h = await Harness.start();
  });
  afterAll(async () => {
    runs.splice(0).forEach((r) => r.kill());
    await h?.stop();
    rmSync(scripts, { recursive: true, force: true });
  });

  it('a TRAILS_INFO from trails child-info lets the unchanged client register and finish', async () => {
    expect(h.gw.hub.options.registration).toBe('gated');
    const parent = await h.register(['--name', 'py-parent', '--sec-level', 'open']);
    const { appId, info } = await h.childInfo(parent, ['--name', 'py-child']);
    expect(decodeTrailsInfo(info).serverEp).toMatch(/\/ws\?join=[A-Za-z0-9_-]{22}$/);
    const py = run('FROM_ENV', [], { TRAILS_INFO: info });
    await py.finished();
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'done', parent_id: parent.TRAILS_APP_ID, app_name: 'py-child', pid: py.pid });
  });

  it('a new root app registers with the serverEp of its join token; without a token it is refused', async () => {
    const appId = randomUUID();
    const token = joinToken(h.gw.hub.options.householdKey!, appId, null);
    await run('LIFECYCLE', [`${h.gw.wsUrl}?join=${token}`, appId, 'py-root']).finished();
    expect(h.gw.store.getApp(appId)).toMatchObject({ status: 'done', app_name: 'py-root' });

    const stranger = await FrameSocket.open(h.gw.wsUrl);
    const other = randomUUID();
    stranger.send({ type: 'register', app_id: other, parent_id: null, app_name: 'x', child_pub_key: newSigningKey().publicKeyText, sig: null });
    expect(await stranger.next(5000)).toMatchObject({ type: 'error', code: 'join_required', app_id: other });
    await stranger.close();
    expect(h.gw.store.getApp(other)).toBeUndefined();
  });
});
