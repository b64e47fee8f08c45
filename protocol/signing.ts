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
import { utf8 } from './bytes.js';
import { canonicalizeWithout } from './canonical.js';
import type { TrailsCrypto } from './crypto.js';
import { decodeSignature, encodeSignature } from './keys.js';

export const SIG_DOMAIN = 'TRAILS-SIG-V1\n';

export function signingInput(frame: object): Uint8Array {
  return utf8(SIG_DOMAIN + canonicalizeWithout(frame as Record<string, unknown>, 'sig'));
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

export interface FrameSigning<SK, VK> {
  /** Returns a copy of the frame with `sig` set. */
  signFrame<T extends object>(frame: T, key: SK): T & { sig: string };
  verifyFrame(frame: object, publicKey: VK): boolean;
}

/** signFrame and verifyFrame on one cryptography (gateway/crypto/frame-signing.ts, client/crypto.ts). */
export function frameSigning<SK, VK>(crypto: Pick<TrailsCrypto<SK, VK>, 'ed25519'>): FrameSigning<SK, VK> {
  const { sign, verify } = crypto.ed25519;
  return {
    signFrame<T extends object>(frame: T, key: SK): T & { sig: string } {
      const sig = encodeSignature(sign(signingInput(frame), key));
      return { ...frame, sig };
    },
    verifyFrame(frame: object, publicKey: VK): boolean {
      const raw = decodeSignature((frame as { sig?: unknown }).sig);
      const input = raw === undefined ? undefined : signingInputOf(frame);
      if (raw === undefined || input === undefined) return false;
      return verify(input, raw, publicKey);
    },
  };
}
