/**
 * Arbitraries of hostile input: values a stranger on the LAN would put in any
 * field (wrong types, huge and non-finite numbers, lone surrogates, prototype
 * keys, deep nesting, long text), and mutations of a well-formed frame.
 */
import fc from 'fast-check';

/** An object with an own "__proto__" member, as JSON.parse makes it (an object literal would set the prototype). */
const protoKey = (): unknown => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');

const deep = (n: number, leaf: unknown = 0): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

export const hostileNumber = fc.oneof(
  fc.constantFrom(1e20, -1e20, 1e308, -0, 2 ** 53, 2 ** 53 + 2, -1, 0.5, 8.64e15 + 1, 253_402_300_800_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 4294967296),
  fc.double(),
  fc.integer(),
);

export const hostileString = fc.oneof(
  fc.constantFrom('', '\ud800', 'a\udc00b', '\u0000', '__proto__', 'constructor', 'toString', 'x'.repeat(5000), '../../etc/passwd', "'; DROP TABLE apps; --", '%s%n', '\\', '"'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.constantFrom(null, true, false, [], {}),
  fc.constant(undefined),
  fc.constant(null).map(protoKey),
  fc.integer({ min: 1, max: 40 }).map((n) => deep(n)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({ maxDepth: 2, withNullPrototype: true, withObjectString: true }),
);

/** A copy of `frame` with one hostile change: a member replaced, removed, or added; or a nested member replaced. */
export function mutation(frame: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(frame);
  const nested = keys.filter((k) => typeof frame[k] === 'object' && frame[k] !== null && !Array.isArray(frame[k]));
  const replace = fc.tuple(fc.constantFrom(...keys), hostileValue).map(([k, v]) => ({ ...frame, [k]: v }));
  const remove = fc.constantFrom(...keys).map((k) => {
    const copy = { ...frame };
    delete copy[k];
    return copy;
  });
  const add = fc.tuple(fc.constantFrom('__proto__', 'constructor', 'toJSON', 'extra', 'type', 'app_id'), hostileValue).map(([k, v]) => {
    const copy = JSON.parse(JSON.stringify(frame)) as Record<string, unknown>;
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
    return copy;
  });
  const arbs: Array<fc.Arbitrary<Record<string, unknown>>> = [replace, remove, add];
  if (nested.length > 0) {
    arbs.push(
      fc.tuple(fc.constantFrom(...nested), fc.string({ maxLength: 12 }), hostileValue).map(([k, inner, v]) => {
        const sub = { ...(frame[k] as Record<string, unknown>) };
        const innerKeys = Object.keys(sub);
        sub[innerKeys.length > 0 && inner.length % 2 === 0 ? innerKeys[inner.length % innerKeys.length]! : inner] = v;
        return { ...frame, [k]: sub };
      }),
    );
  }
  return fc.oneof(...arbs);
}

/** Frame text that is not a frame: garbage, truncated JSON, deep nesting, numbers JSON.parse makes Infinity. */
export const hostileText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 1, max: 30_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 30_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.integer({ min: 1, max: 30_000 }).map((n) => '['.repeat(n)),
  fc.constantFrom('null', '1e999', '[]', '"register"', '{"type":null}', '{"type":"register","app_id":1e999}', '{"type":{"toString":1}}', '{"__proto__":{"type":"register"}}', '\ufeff{}', '{"type":"x"' + ',"a":1'.repeat(20_000) + '}'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
);

export const hostileBytes = fc.uint8Array({ maxLength: 300 });
