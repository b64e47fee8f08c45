/**
 * The gateway key on disk, with rotation: server.key is the current key,
 * server.next.key (mode 0600, written atomically) a scheduled successor with
 * its effective time. At start a successor whose time has come is promoted
 * (server.key is kept as server.prev.key, then server.next.key becomes
 * server.key); one still ahead is scheduled in the ServerIdentity, which
 * switches at that moment by itself while the gateway runs.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { keyPairFromSeed } from '../crypto/ed25519.js';
import { ServerIdentity } from '../device/server-identity.js';
import { KeyFileError, loadOrCreateKey } from './key-file.js';

/** server.key is the identity every device has pinned: the advice never suggests replacing it. */
const IDENTITY_ADVICE = 'restore it from a backup: it is the identity every device has pinned, and a new key would make every device refuse this gateway';

export const SERVER_KEY_FILE = 'server.key';
export const NEXT_KEY_FILE = 'server.next.key';
export const PREV_KEY_FILE = 'server.prev.key';

interface NextKeyBody {
  type: 'ed25519';
  seed: string;
  created_at: string;
  /** ISO 8601: when this key replaces server.key. */
  effective_after: string;
}

export function loadServerIdentity(dataDir: string, now: () => number = Date.now): { identity: ServerIdentity; created: boolean; promoted: boolean; tightened: Array<{ path: string; mode: number }> } {
  const keyPath = join(dataDir, SERVER_KEY_FILE);
  const nextPath = join(dataDir, NEXT_KEY_FILE);
  let promoted = false;
  let scheduled: { pair: Ed25519KeyPair; at: number } | undefined;
  if (existsSync(nextPath)) {
    const next = readNextKey(nextPath);
    if (next.at <= now()) {
      if (existsSync(keyPath)) renameSync(keyPath, join(dataDir, PREV_KEY_FILE));
      // Same body format as key-file.ts (its extra effective_after member is ignored there).
      renameSync(nextPath, keyPath);
      promoted = true;
    } else {
      scheduled = next;
    }
  }
  const { pair, created, tightenedFrom } = loadOrCreateKey(keyPath, { advice: IDENTITY_ADVICE });
  const tightened = tightenedFrom !== undefined ? [{ path: keyPath, mode: tightenedFrom }] : [];
  const identity = new ServerIdentity(pair);
  identity.useClock(now);
  if (scheduled) identity.scheduleNext(scheduled.pair, scheduled.at);
  identity.onScheduleNext = (p, at) => writeNextKey(nextPath, p, at);
  return { identity, created, promoted, tightened };
}

export function writeNextKey(path: string, pair: Ed25519KeyPair, effectiveAfter: number): void {
  const body: NextKeyBody = {
    type: 'ed25519',
    seed: Buffer.from(pair.secretKey).toString('base64'),
    created_at: new Date().toISOString(),
    effective_after: new Date(effectiveAfter).toISOString(),
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function readNextKey(path: string): { pair: Ed25519KeyPair; at: number } {
  let body: Partial<NextKeyBody>;
  try {
    body = JSON.parse(readFileSync(path, 'utf8')) as Partial<NextKeyBody>;
  } catch (e) {
    throw new KeyFileError(`cannot read the scheduled key ${path} (${(e as Error).message}); restore it from a backup, or move it away to cancel the rotation`);
  }
  const seed = typeof body?.seed === 'string' ? Buffer.from(body.seed, 'base64') : undefined;
  const at = typeof body?.effective_after === 'string' ? Date.parse(body.effective_after) : NaN;
  if (body?.type !== 'ed25519' || !seed || seed.length !== 32 || !Number.isFinite(at)) {
    throw new KeyFileError(`key file ${path} is not a scheduled Ed25519 key (seed and effective_after); move it away to cancel the rotation`);
  }
  return { pair: keyPairFromSeed(new Uint8Array(seed)), at };
}
