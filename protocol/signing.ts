/**
 * What every signature covers (docs/PROTOCOL.md "Signatures"):
 *
 *   signing input = UTF-8( "TRAILS-SIG-V1\n" + JCS(frame without its "sig" member) )
 *
 * JCS is RFC 8785 canonical JSON. The whole frame is covered (type, app_id,
 * header with seq, payload, and every other member), so a signed frame can be
 * neither altered nor moved to another app; seq (messages) and timestamp (the
 * other frames) make a replay detectable. The domain tag keeps these signatures
 * from being valid for anything else signed with the same key.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalizeWithout } from './canonical.js';
import { decodeSignature, encodeSignature } from './keys.js';
import { sign, verify } from '../gateway/crypto/ed25519.js';

export const SIG_DOMAIN = 'TRAILS-SIG-V1\n';

export function signingInput(frame: object): Uint8Array {
  return Buffer.from(SIG_DOMAIN + canonicalizeWithout(frame as Record<string, unknown>, 'sig'), 'utf8');
}

/**
 * The signing input, or undefined for a frame that has no canonical form
 * (a lone surrogate, a number JSON.parse turned into Infinity, too deep):
 * no signer could have signed it, so it verifies as a bad signature, never
 * as an exception.
 */
export function signingInputOf(frame: object): Uint8Array | undefined {
  try {
    return signingInput(frame);
  } catch {
    return undefined;
  }
}

/** Returns a copy of the frame with `sig` set. */
export function signFrame<T extends object>(frame: T, key: KeyObject): T & { sig: string } {
  const sig = encodeSignature(sign(signingInput(frame), key));
  return { ...frame, sig };
}

export function verifyFrame(frame: object, publicKey: KeyObject): boolean {
  const raw = decodeSignature((frame as { sig?: unknown }).sig);
  const input = raw === undefined ? undefined : signingInputOf(frame);
  if (raw === undefined || input === undefined) return false;
  return verify(input, raw, publicKey);
}
