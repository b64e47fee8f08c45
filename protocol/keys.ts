/**
 * Wire encodings of keys and signatures: "ed25519:" + standard padded base64
 * (PROTOCOL-NOTES "Framing and encodings"). Decoding is strict, so that one key
 * has exactly one textual form and string comparison of keys is sound.
 */
import { fromBase64, toBase64 } from './bytes.js';

export function encodeTagged(tag: string, bytes: Uint8Array): string {
  return `${tag}:${toBase64(bytes)}`;
}

/**
 * Returns the raw bytes, or undefined when the text is not `tag:` + canonical
 * base64 of `length` bytes: fromBase64 is strict (the bytes must encode back
 * to the very text), which also refuses nonzero padding bits.
 */
export function decodeTagged(tag: string, text: unknown, length: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !text.startsWith(`${tag}:`)) return undefined;
  const body = text.slice(tag.length + 1);
  if (body.length !== 4 * Math.ceil(length / 3)) return undefined;
  const bytes = fromBase64(body);
  return bytes?.length === length ? bytes : undefined;
}

export const encodePublicKey = (raw: Uint8Array): string => encodeTagged('ed25519', raw);
export const decodePublicKey = (text: unknown): Uint8Array | undefined => decodeTagged('ed25519', text, 32);
export const encodeSignature = (raw: Uint8Array): string => encodeTagged('ed25519', raw);
export const decodeSignature = (text: unknown): Uint8Array | undefined => decodeTagged('ed25519', text, 64);
