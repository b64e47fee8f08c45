/**
 * The device side of the lifecycle, piece by piece: the NVS stand-in, the
 * bootstrap config, the gateway keys in force during a rotation, and the
 * checks on system controls (a provision for another key, a rotation in the
 * past, a migrate without a usable endpoint).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, privateKeyObject } from '../../gateway/crypto/ed25519.js';
import type { ControlFrame } from '../../protocol/frames.js';
import type { ProvisionPayload } from '../../protocol/bootstrap-frames.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { signFrame } from '../../gateway/crypto/frame-signing.js';
import { decodeBootstrapInfo, encodeBootstrapInfo } from '../../client/bootstrap-config.js';
import type { ControlAnswer } from '../../client/controls.js';
import { FileConfigStore, MemoryConfigStore } from '../../client/nvs-store.js';
import { DeviceSystemActions, checkProvision, configFromProvision } from '../../client/system-actions.js';
import { KeyTrust } from '../../client/trust.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const key = (): string => encodePublicKey(generateKeyPair().publicKey);

describe('ConfigStore', () => {
  it('the memory twin stores copies, not references', () => {
    const s = new MemoryConfigStore();
    const v = { a: [1, 2] };
    s.set('k', v);
    v.a.push(3);
    expect(s.get('k')).toEqual({ a: [1, 2] });
    s.delete('k');
    expect(s.get('k')).toBeUndefined();
    expect(s.writes).toBe(2);
  });

  it('the file store survives a reopen, writes 0600 atomically and leaves no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trails-nvs-'));
    dirs.push(dir);
    const path = join(dir, 'sub', 'nvs.json');
    const s = new FileConfigStore(path);
    expect(s.get('identity')).toBeUndefined();
    s.set('identity', { seed: 'abc' });
    s.set('seq', 41);
    s.set('seq', 42);
    s.delete('nothing');
    const reopened = new FileConfigStore(path);
    expect(reopened.get('identity')).toEqual({ seed: 'abc' });
    expect(reopened.get('seq')).toBe(42);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['nvs.json']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ identity: { seed: 'abc' }, seq: 42 });
  });
});

describe('bootstrap TRAILS_INFO', () => {
  it('round-trips and names the bad field', () => {
    const info = { v: 1, mode: 'bootstrap' as const, parentPubKey: key(), serverEp: 'ws://factory:8443', serverPubKey: key() };
    expect(decodeBootstrapInfo(encodeBootstrapInfo(info))).toEqual(info);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64');
    expect(() => decodeBootstrapInfo(b64({ ...info, mode: 'full' }))).toThrow(/"mode" must be "bootstrap"/);
    expect(() => decodeBootstrapInfo(b64({ ...info, parentPubKey: 'ed25519:AAAA' }))).toThrow(/"parentPubKey"/);
    expect(() => decodeBootstrapInfo(b64({ ...info, serverEp: 'ftp://x' }))).toThrow(/serverEp/);
  });
});

describe('KeyTrust', () => {
  it('old key before the window, both within it, new key after; settle drops the old one', () => {
    const oldKey = generateKeyPair();
    const newKey = generateKeyPair();
    const frame = (pair: typeof oldKey) => signFrame({ type: 'control', n: 1 }, privateKeyObject(pair.secretKey));
    let now = 1_000_000;
    const t = new KeyTrust({ current: encodePublicKey(oldKey.publicKey) }, () => now, 100);
    t.schedule(encodePublicKey(newKey.publicKey), 2_000_000);
    const at = (ms: number) => ((now = ms), [t.verify(frame(oldKey)), t.verify(frame(newKey)), t.primary === encodePublicKey(newKey.publicKey)]);
    expect(at(1_999_899)).toEqual([true, false, false]);
    expect(at(1_999_900)).toEqual([true, true, false]);
    expect(at(2_000_000)).toEqual([true, true, true]);
    expect(at(2_000_100)).toEqual([true, true, true]);
    expect(t.settle()).toBe(false);
    expect(at(2_000_101)).toEqual([false, true, true]);
    expect(t.settle()).toBe(true);
    expect(t.snapshot).toEqual({ current: encodePublicKey(newKey.publicKey), next: null });
  });
});

describe('system controls on the device', () => {
  const me = key();
  const appId = '66666666-6666-4666-8666-666666666666';
  const control = (action: string, payload: object): ControlFrame => ({ type: 'control', app_id: appId, action, correlation_id: 'c1', payload: payload as never, issued_at: 0, expires_at: 0, sig: '' });
  const provision = (over: object = {}) => ({ appId, parentId: '77777777-7777-4777-8777-777777777777', appName: 'lamp', serverEp: null, parentPubKey: key(), serverPubKey: key(), secLevel: 'signed', roleRefs: [], childPubKey: me, ...over });

  function run(action: string, payload: object, now = 5_000_000): { answers: ControlAnswer[]; refused: string[]; acted: string[] } {
    const out = { answers: [] as ControlAnswer[], refused: [] as string[], acted: [] as string[] };
    const hook = new DeviceSystemActions({
      myKey: () => me, now: () => now, skewMs: 1000,
      provision: (_p, answer) => (out.acted.push('provision'), answer({ ack: true })),
      rotateKeys: (_r, answer) => (out.acted.push('rotate_keys'), answer({ ack: true })),
      migrate: (_m, answer) => (out.acted.push('migrate'), answer({ ack: true })),
      refused: (a, reason) => out.refused.push(`${a}: ${reason}`),
    });
    expect(hook.handles(action)).toBe(true);
    void hook.run(control(action, payload), (a) => (out.answers.push(a), true));
    return out;
  }

  it('a provision for another device key is ignored without an answer; one for this key is acted on', () => {
    const other = run('provision', provision({ childPubKey: key() }));
    expect(other).toEqual({ answers: [], refused: ['provision: provision is bound to another device key (childPubKey): not for this device'], acted: [] });
    expect(run('provision', provision()).acted).toEqual(['provision']);
    const wrongApp = run('provision', provision({ appId: '88888888-8888-4888-8888-888888888888' }));
    expect(wrongApp.answers).toEqual([{ ack: false, error: 'provision appId must be a UUID and the app the control names' }]);
    const open = run('provision', provision({ secLevel: 'open' }));
    expect(open.answers[0]?.ack).toBe(false);
  });

  it('rotate_keys in the past is answered ack:false and changes nothing; within the skew it is taken', () => {
    const past = run('rotate_keys', { newServerPubKey: key(), effectiveAfter: new Date(5_000_000 - 1001).toISOString() });
    expect(past.answers).toEqual([{ ack: false, error: 'effectiveAfter is in the past: old and new keys would not overlap' }]);
    expect(past.acted).toEqual([]);
    expect(run('rotate_keys', { newServerPubKey: key(), effectiveAfter: new Date(5_000_000 - 999).toISOString() }).acted).toEqual(['rotate_keys']);
    expect(run('rotate_keys', { effectiveAfter: new Date(6_000_000).toISOString() }).answers[0]).toEqual({ ack: false, error: 'rotate_keys names no new key' });
  });

  it('migrate needs a usable endpoint and key', () => {
    expect(run('migrate', { newServerEp: 'mqtt://x', newServerPubKey: key() }).answers[0]).toEqual({ ack: false, error: 'newServerEp must be a ws/wss/http/https URL' });
    expect(run('migrate', { newServerEp: 'ws://x:1', newServerPubKey: 'nope' }).answers[0]?.ack).toBe(false);
    expect(run('migrate', { newServerEp: 'ws://x:1', newServerPubKey: key() }).acted).toEqual(['migrate']);
  });

  it('a provision makes a full-mode config; what it leaves null is kept from the current one', () => {
    const p = provision();
    const c = checkProvision(control('provision', p), me);
    expect(c.ok).toBe(true);
    const cfg = configFromProvision(c.ok ? c.value : (null as never), { serverEp: 'ws://here:8443', parentPubKey: 'ed25519:kept' });
    expect(cfg).toMatchObject({ mode: 'full', appId, parentId: p.parentId, appName: 'lamp', serverEp: 'ws://here:8443', serverPubKey: p.serverPubKey, parentPubKey: p.parentPubKey, secLevel: 'signed' });
    const kept = configFromProvision({ ...(p as unknown as ProvisionPayload), parentPubKey: null }, { serverEp: 'ws://here:8443', parentPubKey: 'ed25519:kept' });
    expect(kept.parentPubKey).toBe('ed25519:kept');
  });
});
