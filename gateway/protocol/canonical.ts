/**
 * RFC 8785 (JSON Canonicalization Scheme) through the `canonicalize` package,
 * written by one of the RFC's authors. Signatures cover canonical bytes so that
 * a signer and a verifier that serialise JSON differently still agree.
 */
import canonicalizeJson from 'canonicalize';

export function canonicalize(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}
