/**
 * The household registration gate (docs/PROTOCOL.md "Registration gate"):
 * an app that no parent declared and no claim made needs a join token to
 * register, and an open-tier app needs its token again to resume. The token
 * is a capability derived from the household secret, so nothing is stored
 * per token and nothing a stranger sends grows the disk.
 *
 *   token = base64url(HMAC-SHA256(secret, "trails-join-v1\n" + app_id + "\n" + (parent_id ?? "")))[first 16 bytes]
 *
 * Binding the parent too means a token handed out for one place in the tree
 * cannot attach the app anywhere else. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type RegistrationMode = 'gated' | 'open';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['gated', 'open'];

/** 16 bytes of the MAC: 128 bits, 22 characters of base64url. */
const TOKEN_BYTES = 16;
const TOKEN_TEXT = /^[A-Za-z0-9_-]{22}$/;

export function joinTokenBytes(secret: Uint8Array, appId: string, parentId: string | null): Buffer {
  const input = `trails-join-v1\n${appId.toLowerCase()}\n${(parentId ?? '').toLowerCase()}`;
  return createHmac('sha256', secret).update(input, 'utf8').digest().subarray(0, TOKEN_BYTES);
}

export function joinToken(secret: Uint8Array, appId: string, parentId: string | null): string {
  return joinTokenBytes(secret, appId, parentId).toString('base64url');
}

/** Constant time in the token's bytes; a malformed text is simply not valid. */
export function joinTokenValid(secret: Uint8Array, appId: string, parentId: string | null, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string' || !TOKEN_TEXT.test(presented)) return false;
  const given = Buffer.from(presented, 'base64url');
  return given.length === TOKEN_BYTES && timingSafeEqual(given, joinTokenBytes(secret, appId, parentId));
}

/** The `join` query parameter of a device endpoint URL, if any (ws-server.ts hands it to the Connection). */
export function joinFromUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const v = new URLSearchParams(url.slice(q + 1)).get('join');
  return v === null || v.length > 64 ? undefined : v;
}
