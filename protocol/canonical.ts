/**
 * RFC 8785 (JSON Canonicalization Scheme). Signatures cover canonical bytes
 * so that a signer and a verifier that serialise JSON differently still agree.
 *
 * Written here rather than taken from the `canonicalize` package (one of the
 * RFC's authors'), which the tests keep as the oracle: on the signed ingest
 * path the package cost about 15 µs a frame, most of it in guards that JSON
 * parsed from the wire cannot trip (cycles, per-character surrogate scans).
 * The rules are the RFC's: members sorted by UTF-16 code units, numbers in
 * ECMAScript's shortest form (what JSON.stringify writes), strings with JSON's
 * minimal escapes; NaN, Infinity and lone surrogates have no canonical form.
 *
 * Recursion is bounded (MAX_CANONICAL_DEPTH): client frames are already held
 * to MAX_JSON_DEPTH before they are parsed (json-budget.ts), and anything
 * deeper than this is refused with a TypeError instead of exhausting the stack.
 */

/** Deeper than any frame the budget lets through (32), so the limit never refuses a frame that parsed. */
export const MAX_CANONICAL_DEPTH = 64;

export function canonicalize(value: unknown): string {
  const text = write(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** The canonical form of `o` without its member `omit` (a frame without its "sig"), with no copy of `o`. */
export function canonicalizeWithout(o: Record<string, unknown>, omit: string): string {
  return writeObject(o, 0, omit);
}

/**
 * Member names repeat in every frame (type, app_id, header, seq, ...): their
 * escaped form is kept. Bounded in count and in name length, so that payloads
 * with ever-new or huge keys cannot grow it (at most 512 × 64 characters);
 * other names are escaped each time.
 */
const names = new Map<string, string>();
const NAMES_MAX = 512;
const NAME_MAX_LENGTH = 64;

function writeName(k: string): string {
  let text = names.get(k);
  if (text === undefined) {
    text = write(k)!;
    if (names.size < NAMES_MAX && k.length <= NAME_MAX_LENGTH) names.set(k, text);
  }
  return text;
}

/** String.prototype.isWellFormed (Node 20 has it; the ES2022 lib we compile against does not declare it). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function write(v: unknown, depth = 0): string | undefined {
  switch (typeof v) {
    case 'string':
      if (!wellFormed(v)) throw new TypeError('lone surrogates have no canonical JSON form');
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${v} has no JSON form`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return 'null';
      if (depth >= MAX_CANONICAL_DEPTH) throw new TypeError(`nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
      if (Array.isArray(v)) return writeArray(v, depth + 1);
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON(), depth + 1);
      return writeObject(v as Record<string, unknown>, depth + 1);
    case 'bigint':
      throw new TypeError('a BigInt has no JSON form');
    default:
      return undefined; // undefined, functions, symbols: left out, as JSON.stringify does
  }
}

function writeArray(a: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out += ',';
    out += write(a[i], depth) ?? 'null';
  }
  return out + ']';
}

function writeObject(o: Record<string, unknown>, depth: number, omit?: string): string {
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    if (k === omit) continue;
    const member = write(o[k], depth);
    if (member === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += writeName(k) + ':' + member;
  }
  return out + '}';
}
