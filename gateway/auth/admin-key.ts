/**
 * The local admin key (docs/API.md): created at first start as admin.key in
 * the data directory (mode 0600, atomic, like the gateway key), with its
 * public key beside it in admin.pub so tools can show or pin it. Whoever can
 * read admin.key is the administrator of this gateway.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { loadOrCreateKey } from '../keys/key-file.js';
import { encodePublicKey } from '../../protocol/keys.js';

export const ADMIN_KEY_FILE = 'admin.key';
export const ADMIN_PUB_FILE = 'admin.pub';

/** A damaged admin.key is never overwritten: its holder may be the only administrator this box has. */
const ADMIN_ADVICE = 'restore it from a backup, or move it away and restart to create a new admin key (tools holding the old one lose access)';

export function loadOrCreateAdminKey(dataDir: string): { pair: Ed25519KeyPair; publicKeyText: string; created: boolean; tightenedFrom?: number } {
  const path = join(dataDir, ADMIN_KEY_FILE);
  const { pair, created, tightenedFrom } = loadOrCreateKey(path, { advice: ADMIN_ADVICE });
  const publicKeyText = encodePublicKey(pair.publicKey);
  writePubIfChanged(join(dataDir, ADMIN_PUB_FILE), publicKeyText);
  return { pair, publicKeyText, created, ...(tightenedFrom !== undefined ? { tightenedFrom } : {}) };
}

function writePubIfChanged(path: string, text: string): void {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8').trim();
  } catch {
    current = undefined;
  }
  if (current === text) return;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${text}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}
