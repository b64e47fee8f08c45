/**
 * Wire encodings of keys and signatures: "ed25519:" + standard padded base64
 * (PROTOCOL-NOTES "Framing and encodings"). Decoding is strict, so that one key
 * has exactly one textual form and string comparison of keys is sound.
 */
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeTagged(tag: string, bytes: Uint8Array): string {
  return `${tag}:${Buffer.from(bytes).toString('base64')}`;
}

/** Returns the raw bytes, or undefined when the text is not `tag:` + canonical base64 of `length` bytes. */
export function decodeTagged(tag: string, text: unknown, length: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !text.startsWith(`${tag}:`)) return undefined;
  const body = text.slice(tag.length + 1);
  if (!B64.test(body)) return undefined;
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length !== length) return undefined;
  return new Uint8Array(bytes);
}

export const encodePublicKey = (raw: Uint8Array): string => encodeTagged('ed25519', raw);
export const decodePublicKey = (text: unknown): Uint8Array | undefined => decodeTagged('ed25519', text, 32);
export const encodeSignature = (raw: Uint8Array): string => encodeTagged('ed25519', raw);
export const decodeSignature = (text: unknown): Uint8Array | undefined => decodeTagged('ed25519', text, 64);
