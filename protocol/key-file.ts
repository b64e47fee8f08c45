/**
 * The format of a key file in the gateway's data directory (gateway.key,
 * admin.key): one line of JSON holding the Ed25519 seed as base64. Pure, so
 * that the gateway (which creates and guards the files) and the CLI (which
 * reads admin.key) read one format.
 *
 *   {"type":"ed25519","seed":"<base64 of 32 bytes>","created_at":"<ISO 8601>"}
 */
import { fromBase64Loose, toBase64 } from './bytes.js';

export interface KeyFileBody {
  type: 'ed25519';
  seed: string;
  created_at: string;
}

/** A key file that exists but cannot be used; its message is one line naming the file. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export function encodeKeyFile(seed: Uint8Array, createdAt: Date): string {
  const body: KeyFileBody = { type: 'ed25519', seed: toBase64(seed), created_at: createdAt.toISOString() };
  return `${JSON.stringify(body)}\n`;
}

/** The 32-byte seed of a key file's text; `path` and `advice` go into the error. */
export function decodeKeyFile(text: string, path: string, advice: string): Uint8Array {
  let body: Partial<KeyFileBody>;
  try {
    body = JSON.parse(text) as Partial<KeyFileBody>;
  } catch (e) {
    throw new KeyFileError(`key file ${path} is damaged: not valid JSON (${(e as Error).message}); ${advice}`);
  }
  const seed = typeof body?.seed === 'string' ? fromBase64Loose(body.seed) : undefined;
  if (body?.type !== 'ed25519' || !seed || seed.length !== 32) {
    throw new KeyFileError(`key file ${path} is damaged: it does not hold an Ed25519 seed of 32 bytes; ${advice}`);
  }
  return seed;
}
