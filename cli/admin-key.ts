/**
 * The CLI reads the gateway's admin key (DATA_DIR/admin.key) itself: the
 * file's format is the protocol's (protocol/key-file.ts). It never creates
 * or changes the file; that is the gateway's (gateway/auth/admin-key.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import { decodeKeyFile } from '../protocol/key-file.js';
import { cliCrypto } from './crypto.js';

export const ADMIN_KEY_FILE = 'admin.key';

/** The admin key pair of a data directory; ENOENT/EACCES come through as they are. */
export function readAdminKey(dataDir: string): Ed25519KeyPair {
  const path = join(dataDir, ADMIN_KEY_FILE);
  const seed = decodeKeyFile(readFileSync(path, 'utf8'), path, 'restore it from a backup');
  return cliCrypto.ed25519.keyPairFromSeed(seed);
}
