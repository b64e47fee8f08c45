/**
 * A key kept in the data directory: created at first start, mode 0600,
 * written atomically (temp file + rename) so a crash never leaves half a key.
 * Used for the gateway's identity and the local admin key.
 *
 * A key that exists but cannot be read is never replaced: the error says what
 * is wrong with the file and what to do (`advice`, which differs per key: the
 * gateway key is pinned by every device and must never be lost).
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { generateKeyPair, keyPairFromSeed } from '../crypto/ed25519.js';
import { decodeKeyFile, encodeKeyFile, KeyFileError } from '../../protocol/key-file.js';

export { KeyFileError };

export interface KeyFileOptions {
  now?: () => Date;
  /** What to do about a damaged file, appended to the error (default: restore it from a backup). */
  advice?: string;
}

export interface LoadedKey {
  pair: Ed25519KeyPair;
  created: boolean;
  /** The file was readable by others and was set to 0600: the caller logs it. */
  tightenedFrom?: number;
}

export function loadOrCreateKey(path: string, opts: KeyFileOptions | (() => Date) = {}): LoadedKey {
  const o: KeyFileOptions = typeof opts === 'function' ? { now: opts } : opts;
  const advice = o.advice ?? 'restore it from a backup';
  const st = statOrUndefined(path);
  if (st) {
    if (!st.isFile()) throw new KeyFileError(`key file ${path} is not a regular file (${kindOf(st)}); put the key file back there (${advice})`);
    const tightenedFrom = tightenMode(path, st);
    return { pair: readKey(path, advice), created: false, ...(tightenedFrom !== undefined ? { tightenedFrom } : {}) };
  }
  const pair = generateKeyPair();
  const now = o.now ?? (() => new Date());
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeKeyFile(pair.secretKey, now()), { mode: 0o600 });
  renameSync(tmp, path);
  return { pair, created: true };
}

function readKey(path: string, advice: string): Ed25519KeyPair {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied: run the gateway as the user that owns it' : (e as Error).message;
    throw new KeyFileError(`cannot read key file ${path} (${why})`);
  }
  return keyPairFromSeed(decodeKeyFile(text, path, advice));
}

/** A private key readable by others is fixed, not trusted as it is; returns the old mode when it changed. */
function tightenMode(path: string, st: Stats): number | undefined {
  if ((st.mode & 0o077) === 0) return undefined;
  try {
    chmodSync(path, 0o600);
  } catch (e) {
    throw new KeyFileError(`key file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}) and cannot be set to 0600: ${(e as Error).message}`);
  }
  return st.mode & 0o777;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyFileError(`cannot look at key file ${path}: ${(e as Error).message}`);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}
