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
 * cannot attach the app anywhere else. Pure: no I/O; the HMAC comes from
 * the crypto interface (the gateway binds it in gateway/device/join-gate.ts).
 */
import { equalBytes, fromBase64Loose, toBase64Url, utf8 } from './bytes.js';
import type { TrailsCrypto } from './crypto.js';

/** 16 bytes of the MAC: 128 bits, 22 characters of base64url. */
export const JOIN_TOKEN_BYTES = 16;
const TOKEN_TEXT = /^[A-Za-z0-9_-]{22}$/;

/** What the MAC covers: app and parent, lower-cased. */
export function joinTokenInput(appId: string, parentId: string | null): Uint8Array {
  return utf8(`trails-join-v1\n${appId.toLowerCase()}\n${(parentId ?? '').toLowerCase()}`);
}

export interface JoinTokens {
  joinTokenBytes(secret: Uint8Array, appId: string, parentId: string | null): Uint8Array;
  joinToken(secret: Uint8Array, appId: string, parentId: string | null): string;
  /** Constant time in the token's bytes; a malformed text is simply not valid. */
  joinTokenValid(secret: Uint8Array, appId: string, parentId: string | null, presented: string | null | undefined): boolean;
}

export function joinTokens(crypto: Pick<TrailsCrypto, 'hmacSha256'>): JoinTokens {
  const joinTokenBytes = (secret: Uint8Array, appId: string, parentId: string | null): Uint8Array => crypto.hmacSha256(secret, joinTokenInput(appId, parentId)).subarray(0, JOIN_TOKEN_BYTES);
  return {
    joinTokenBytes,
    joinToken: (secret, appId, parentId) => toBase64Url(joinTokenBytes(secret, appId, parentId)),
    joinTokenValid(secret, appId, parentId, presented) {
      if (typeof presented !== 'string' || !TOKEN_TEXT.test(presented)) return false;
      const given = fromBase64Loose(presented);
      return given.length === JOIN_TOKEN_BYTES && equalBytes(given, joinTokenBytes(secret, appId, parentId));
    },
  };
}

/** The `join` query parameter of a device endpoint URL, if any (ws-server.ts hands it to the Connection). */
export function joinFromUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const v = new URLSearchParams(url.slice(q + 1)).get('join');
  return v === null || v.length > 64 ? undefined : v;
}
