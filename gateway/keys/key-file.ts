/**
 * A key kept in the data directory: created at first start, mode 0600,
 * written atomically (temp file + rename) so a crash never leaves half a key.
 * Used for the gateway's identity and, later, the local admin key.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { generateKeyPair, keyPairFromSeed } from '../crypto/ed25519.js';

interface KeyFileBody {
  type: 'ed25519';
  seed: string;
  created_at: string;
}

export function loadOrCreateKey(path: string, now: () => Date = () => new Date()): { pair: Ed25519KeyPair; created: boolean } {
  if (existsSync(path)) {
    tightenMode(path);
    return { pair: readKey(path), created: false };
  }
  const pair = generateKeyPair();
  const body: KeyFileBody = { type: 'ed25519', seed: Buffer.from(pair.secretKey).toString('base64'), created_at: now().toISOString() };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return { pair, created: true };
}

function readKey(path: string): Ed25519KeyPair {
  let body: Partial<KeyFileBody>;
  try {
    body = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyFileBody>;
  } catch (e) {
    throw new Error(`key file ${path} is not valid JSON (${(e as Error).message}); restore it from a backup or move it away to create a new key`);
  }
  const seed = typeof body.seed === 'string' ? Buffer.from(body.seed, 'base64') : undefined;
  if (body.type !== 'ed25519' || !seed || seed.length !== 32) {
    throw new Error(`key file ${path} does not hold an Ed25519 seed of 32 bytes`);
  }
  return keyPairFromSeed(new Uint8Array(seed));
}

/** A private key readable by others is fixed, not trusted as it is. */
function tightenMode(path: string): void {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}
