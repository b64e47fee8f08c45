/**
 * Interop with the reference Python client, run unchanged against the
 * in-process gateway. Its quirks are part of what is tested: it waits at most
 * 1 s for each ack, re_registers with last_seq 0 after its own backoff, and
 * usually closes with 1000 without a disconnect (so every driver ends the
 * app with Result/Error first).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEvent } from '../../gateway/events.js';
import type { MessageRow } from '../../gateway/store/types.js';
import { FrameSocket } from '../conformance/frame-socket.js';
import { GatewayHarness } from '../conformance/gateway-harness.js';
import { run as runCli } from '../../cli/run.js';
import { newSigningKey } from '../conformance/signatures.js';
import { findReferenceClient, PythonRun, until, type ReferenceClient } from './reference-client.js';
import { ERROR, FROM_ENV, LIFECYCLE, RECONNECT } from './python-drivers.js';

const lookup = findReferenceClient();
if (!lookup.ok) console.warn(`interop: reference Python client tests skipped: ${lookup.reason}`);

describe.skipIf(!lookup.ok)('reference Python client against the gateway', () => {
  const client = lookup.ok ? lookup.client : (undefined as unknown as ReferenceClient);
  const harness = new GatewayHarness();
  const runs: PythonRun[] = [];
  let scripts = '';

  beforeAll(async () => {
    scripts = mkdtempSync(join(tmpdir(), 'trails-py-drivers-'));
    for (const [name, text] of Object.entries({ LIFECYCLE, ERROR, RECONNECT, FROM_ENV })) writeFileSync(join(scripts, `${name}.py`), text);
    await harness.start();
  });
  afterEach(() => runs.splice(0).forEach((r) => r.kill()));
  afterAll(async () => {
    await harness.dispose();
    rmSync(scripts, { recursive: true, force: true });
    client?.cleanup();
  });

  const run = (script: string, args: string[], env: Record<string, string> = {}): PythonRun => {
    const r = new PythonRun(client, join(scripts, `${script}.py`), args, env);
    runs.push(r);
    return r;
  };
  const store = () => harness.gw.store;
  const payloads = (appId: string, type: MessageRow['msg_type']) => store().messages(appId, { msg_type: type }).map((m) => m.payload_json);

  it('register, status, status, result: the app is done and every payload is stored', async () => {
    const appId = randomUUID();
    const py = run('LIFECYCLE', [harness.gw.url, appId, 'interop-lifecycle']);
    await py.finished();
    const app = store().getApp(appId);
    expect(app).toMatchObject({ status: 'done', app_name: 'interop-lifecycle', pid: py.pid, last_seq: 3 });
    expect(app?.pub_key).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect(payloads(appId, 'Status')).toEqual([{ phase: 'loading', progress: 0.25 }, { phase: 'processing', progress: 0.75 }]);
    expect(payloads(appId, 'Result')).toEqual([{ rows_scanned: 100000, pii_columns_found: 4 }]);
    expect(store().crashes({ app_id: appId })).toEqual([]);
  });

  it('error(msg, detail): the app is in error with payload {message, detail}', async () => {
    const appId = randomUUID();
    await run('ERROR', [harness.gw.url, appId, 'interop-error']).finished();
    expect(store().getApp(appId)?.status).toBe('error');
    expect(payloads(appId, 'Error')).toEqual([{ message: 'OutOfMemoryError processing table customers', detail: { row_number: 50231, batch: 7 } }]);
    expect(store().crashes({ app_id: appId })).toEqual([]);
  });

  it('a gateway restart: the client re_registers by itself, the app runs again and later reports are stored', async () => {
    const appId = randomUUID();
    const py = run('RECONNECT', [harness.gw.url, appId, 'interop-reconnect']);
    await py.line('registered');
    await until(() => store().messages(appId).length >= 2, 10_000, 'the first reports');
    await harness.stop();
    await py.line('lost');
    const gw = await harness.start();
    const seen: string[] = [];
    const unsubscribe = gw.events.subscribe((e: GatewayEvent) => {
      if (e.app_id === appId && e.type === 'app_status') seen.push(e.status);
    });
    try {
      expect(store().getApp(appId)?.status).toBe('reconnecting');
      await py.line('back');
      await py.finished();
    } finally {
      unsubscribe();
    }
    expect(seen).toEqual(['running', 'done']);
    const after = payloads(appId, 'Status').filter((p) => (p as { phase?: string }).phase === 'after');
    expect(after).toHaveLength(3);
    expect(payloads(appId, 'Result')).toHaveLength(1);
    expect(store().getApp(appId)).toMatchObject({ status: 'done' });
    expect(store().crashes({ app_id: appId })).toEqual([]);
  });

  it('a child declared by `trails child-info` (default tier: open) runs the reference client from its TRAILS_INFO', async () => {
    const parentId = randomUUID();
    const parent = await FrameSocket.open(harness.gw.wsUrl);
    try {
      parent.send({ type: 'register', app_id: parentId, parent_id: null, app_name: 'interop-cli-parent', child_pub_key: newSigningKey().publicKeyText, sig: null });
      expect(await parent.next(5000)).toMatchObject({ type: 'registered', app_id: parentId });
      let stdout = '';
      const code = await runCli(['child-info', '--parent', parentId.slice(0, 8), '--name', 'py-child', '--json'], {
        stdout: (t) => void (stdout += t),
        stderr: () => {},
        env: { TRAILS_SERVER: harness.gw.url, TRAILS_DATA_DIR: harness.dataDir },
        cwd: harness.dataDir,
      });
      expect(code).toBe(0);
      const child = JSON.parse(stdout) as { appId: string; secLevel: string; trailsInfo: string };
      expect(child.secLevel).toBe('open');
      const py = run('FROM_ENV', [], { TRAILS_INFO: child.trailsInfo });
      await py.finished();
      expect(store().getApp(child.appId)).toMatchObject({ status: 'done', app_name: 'py-child', parent_id: parentId, sec_level: 'open' });
      expect(payloads(child.appId, 'Result')).toEqual([{ ok: true }]);
    } finally {
      parent.send({ type: 'disconnect', app_id: parentId, reason: 'completed' });
      await parent.close();
    }
  });

  it('TRAILS_INFO (standard base64 of camelCase JSON) is decoded by TrailsClient.init()', async () => {
    const parentId = randomUUID();
    const parent = await FrameSocket.open(harness.gw.wsUrl);
    try {
      parent.send({ type: 'register', app_id: parentId, parent_id: null, app_name: 'interop-parent', child_pub_key: newSigningKey().publicKeyText, sig: null });
      expect(await parent.next(5000)).toMatchObject({ type: 'registered', app_id: parentId });
      const appId = randomUUID();
      const info = {
        v: 1, appId, parentId, appName: 'interop-from-env', serverEp: harness.gw.url, serverPubKey: harness.gw.identity.publicKeyText,
        secLevel: 'open', scheduledAt: Date.now(), startDeadline: 300, originator: { sub: 'interop', groups: ['ops'] },
        roleRefs: ['reader', 'writer'], tags: { suite: 'interop' }, mode: 'full', parentPubKey: null,
      };
      const trailsInfo = Buffer.from(JSON.stringify(info), 'utf8').toString('base64');
      const py = run('FROM_ENV', [], { TRAILS_INFO: trailsInfo });
      await py.finished();
      expect(store().getApp(appId)).toMatchObject({ status: 'done', app_name: 'interop-from-env', parent_id: parentId, role_refs: ['reader', 'writer'], pid: py.pid });
      expect(payloads(appId, 'Status')).toEqual([{ phase: 'from-env' }]);
      expect(payloads(appId, 'Result')).toEqual([{ ok: true }]);
      expect(store().children(parentId).map((a) => a.app_id)).toEqual([appId]);
    } finally {
      parent.send({ type: 'disconnect', app_id: parentId, reason: 'completed' });
      await parent.close();
    }
  });
});
