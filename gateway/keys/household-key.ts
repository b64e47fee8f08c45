/**
 * The household secret (docs/PROTOCOL.md "Registration gate"): 32 random
 * bytes in household.key of the data directory, created at first start with
 * mode 0600 and written atomically like the other keys. Join tokens are
 * HMACs under it (device/join-gate.ts); whoever reads it can mint them, so
 * it is as private as admin.key. Replacing the file revokes every token.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

export const HOUSEHOLD_KEY_FILE = 'household.key';

interface HouseholdKeyBody {
  type: 'hmac-sha256';
  secret: string;
  created_at: string;
}

export function loadOrCreateHouseholdKey(dataDir: string, now: () => Date = () => new Date()): { secret: Uint8Array; created: boolean } {
  const path = join(dataDir, HOUSEHOLD_KEY_FILE);
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { secret: readSecret(path), created: false };
  }
  const secret = randomBytes(32);
  const body: HouseholdKeyBody = { type: 'hmac-sha256', secret: secret.toString('base64'), created_at: now().toISOString() };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return { secret: new Uint8Array(secret), created: true };
}

function readSecret(path: string): Uint8Array {
  let body: Partial<HouseholdKeyBody>;
  try {
    body = JSON.parse(readFileSync(path, 'utf8')) as Partial<HouseholdKeyBody>;
  } catch (e) {
    throw new Error(`household key ${path} is not valid JSON (${(e as Error).message}); move it away to create a new one (every join token handed out so far then stops working)`);
  }
  const secret = typeof body.secret === 'string' ? Buffer.from(body.secret, 'base64') : undefined;
  if (body.type !== 'hmac-sha256' || !secret || secret.length !== 32) throw new Error(`household key ${path} does not hold a secret of 32 bytes`);
  return new Uint8Array(secret);
}
