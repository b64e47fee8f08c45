/**
 * The gateway key ring: the next key takes over at its instant and not
 * before, everything signed follows the clock, a schedule is persisted
 * before it is used, and a restart promotes a next key whose time has come.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, publicKeyObject } from '../../gateway/crypto/ed25519.js';
import { ServerIdentity } from '../../gateway/device/server-identity.js';
import { loadServerIdentity } from '../../gateway/keys/server-key-ring.js';
import { edSecretToX25519 } from '../../gateway/crypto/x25519.js';
import { decodePublicKey, encodePublicKey } from '../../protocol/keys.js';
import { verifyFrame } from '../../gateway/crypto/frame-signing.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const verifies = (f: object, key: string): boolean => verifyFrame(f, publicKeyObject(decodePublicKey(key)!));

describe('ServerIdentity key ring', () => {
  it('signs with the current key until effectiveAfter and with the next one from then on', () => {
    const cur = generateKeyPair();
    const nxt = generateKeyPair();
    let now = 1_000;
    const id = new ServerIdentity(cur);
    id.useClock(() => now);
    const persisted: number[] = [];
    id.onScheduleNext = (_p, at) => persisted.push(at);
    id.scheduleNext(nxt, 2_000);
    expect(persisted).toEqual([2_000]);
    expect(id.nextKey).toEqual({ publicKeyText: encodePublicKey(nxt.publicKey), effectiveAfter: 2_000 });
    now = 1_999;
    const before = id.sign({ type: 'control', n: 1 });
    expect(verifies(before, encodePublicKey(cur.publicKey))).toBe(true);
    expect(id.publicKeyText).toBe(encodePublicKey(cur.publicKey));
    expect(Buffer.from(id.x25519Secret)).toEqual(Buffer.from(edSecretToX25519(cur.secretKey)));
    now = 2_000;
    const after = id.sign({ type: 'control', n: 2 });
    expect(verifies(after, encodePublicKey(nxt.publicKey))).toBe(true);
    expect(verifies(after, encodePublicKey(cur.publicKey))).toBe(false);
    expect(id.publicKeyText).toBe(encodePublicKey(nxt.publicKey));
    expect(Buffer.from(id.x25519Secret)).toEqual(Buffer.from(edSecretToX25519(nxt.secretKey)));
    expect(id.nextKey).toBeUndefined();
    // Promotion is for good, even if the clock steps back.
    now = 0;
    expect(id.publicKeyText).toBe(encodePublicKey(nxt.publicKey));
  });

  it('persists the next key (0600) and promotes it at a start after its time, keeping the old key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trails-keyring-'));
    dirs.push(dir);
    const first = loadServerIdentity(dir, () => 10_000);
    expect(first.created).toBe(true);
    const oldKey = first.identity.publicKeyText;
    first.identity.scheduleNext(generateKeyPair(), 20_000);
    const nextKey = first.identity.nextKey!.publicKeyText;
    const file = join(dir, 'server.next.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ type: 'ed25519', effective_after: new Date(20_000).toISOString() });
    const early = loadServerIdentity(dir, () => 19_999);
    expect(early).toMatchObject({ created: false, promoted: false });
    expect(early.identity.publicKeyText).toBe(oldKey);
    expect(early.identity.nextKey?.publicKeyText).toBe(nextKey);
    const late = loadServerIdentity(dir, () => 20_000);
    expect(late.promoted).toBe(true);
    expect(late.identity.publicKeyText).toBe(nextKey);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(dir, 'server.prev.key'))).toBe(true);
    expect(loadServerIdentity(dir, () => 30_000).identity.publicKeyText).toBe(nextKey);
  });
});
