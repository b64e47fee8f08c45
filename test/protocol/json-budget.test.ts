import { describe, expect, it } from 'vitest';
import { checkJsonBudget, MAX_JSON_DEPTH, MAX_JSON_ITEMS } from '../../protocol/json-budget.js';
import { canonicalize, MAX_CANONICAL_DEPTH } from '../../protocol/canonical.js';
import { parseClientFrame, short } from '../../protocol/parse.js';

const nest = (n: number, inner = '0'): string => '['.repeat(n) + inner + ']'.repeat(n);
const APP = '3f0c2a9e-8b1d-4c7e-9a2f-5d6b7c8e9f01';
const KEY = 'ed25519:' + 'A'.repeat(43) + '=';

describe('checkJsonBudget', () => {
  it('lets the budget depth through and refuses one level more', () => {
    expect(checkJsonBudget(nest(MAX_JSON_DEPTH))).toEqual({ ok: true });
    expect(checkJsonBudget(nest(MAX_JSON_DEPTH + 1))).toMatchObject({ ok: false, reason: 'depth' });
    expect(checkJsonBudget(`{"a":${nest(MAX_JSON_DEPTH - 1)}}`)).toEqual({ ok: true });
    expect(checkJsonBudget(`{"a":${nest(MAX_JSON_DEPTH)}}`)).toMatchObject({ ok: false, reason: 'depth' });
  });

  it('counts depth, not brackets: many siblings at depth 2 pass the exact scan', () => {
    const wide = JSON.stringify({ list: Array.from({ length: 500 }, (_, i) => ({ i })) });
    expect(checkJsonBudget(wide)).toEqual({ ok: true });
  });

  it('does not count brackets, commas or escaped quotes inside strings', () => {
    const inString = JSON.stringify({ s: '[{'.repeat(1000) + '\\"' + ','.repeat(20_000), t: '"\\' });
    expect(checkJsonBudget(inString)).toEqual({ ok: true });
    // an escaped quote does not end the string: the brackets after it are still inside
    expect(checkJsonBudget(`{"s":"\\"${'['.repeat(100)}"}`)).toEqual({ ok: true });
    // an escaped backslash does end it: the brackets after are structure
    expect(checkJsonBudget(`{"s":"\\\\",${'"a":'.repeat(0)}"b":${nest(40)}}`)).toMatchObject({ ok: false, reason: 'depth' });
  });

  it('refuses more members and elements than the budget', () => {
    const many = `[${Array.from({ length: MAX_JSON_ITEMS + 2 }, () => '0').join(',')}]`;
    expect(checkJsonBudget(many)).toMatchObject({ ok: false, reason: 'items' });
    const enough = `[${Array.from({ length: MAX_JSON_ITEMS + 1 }, () => '0').join(',')}]`;
    expect(checkJsonBudget(enough)).toEqual({ ok: true });
  });

  it('scans 20,000 levels without recursion', () => {
    expect(checkJsonBudget(nest(20_000))).toMatchObject({ ok: false, reason: 'depth' });
    expect(checkJsonBudget('{"a":"unterminated' + '['.repeat(50))).toEqual({ ok: true }); // not JSON: parse refuses it
  });
});

describe('canonical JSON and error text are bounded', () => {
  it('canonicalize refuses values nested deeper than its limit instead of overflowing the stack', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => canonicalize(deep)).toThrow(TypeError);
    let ok: unknown = 0;
    for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) ok = [ok];
    expect(canonicalize(ok)).toBe(nest(MAX_CANONICAL_DEPTH));
  });

  it('short() describes any value in a few dozen characters', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    expect(short(deep)).toBe('an object');
    expect(short(new Array(5))).toBe('an array of 5');
    expect(short('x'.repeat(10_000)).length).toBeLessThan(64);
    expect(short(undefined)).toBe('undefined');
    expect(short(12)).toBe('12');
  });
});

describe('parseClientFrame: found cases (issue 11)', () => {
  it('refuses a 20,000-level frame with too_complex before parsing it', () => {
    const r = parseClientFrame(nest(20_000));
    expect(r).toMatchObject({ ok: false, code: 'too_complex' });
  });

  it('refuses the same depth inside a message payload and a bootstrap_register', () => {
    const msg = `{"type":"message","app_id":"${APP}","header":{"msg_type":"Status","seq":1,"timestamp":1},"payload":${nest(20_000)},"sig":"x"}`;
    expect(parseClientFrame(msg)).toMatchObject({ ok: false, code: 'too_complex' });
    const boot = `{"type":"bootstrap_register","child_pub_key":"${KEY}","parent_pub_key":"${KEY}","device_info":${nest(20_000)},"timestamp":1,"sig":"x"}`;
    expect(parseClientFrame(boot)).toMatchObject({ ok: false, code: 'too_complex' });
  });

  it('a deep app_id or type is described, never serialised', () => {
    const r = parseClientFrame(`{"type":"register","app_id":${nest(30)}}`);
    expect(r).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(!r.ok && r.message.length).toBeLessThan(120);
    const t = parseClientFrame(`{"type":${nest(30, '"x"')}}`);
    expect(t).toMatchObject({ ok: false, code: 'unknown_type', message: 'unknown frame type an array of 1' });
  });

  const register = (process_info: unknown) => JSON.stringify({ type: 'register', app_id: APP, parent_id: null, app_name: 'a', child_pub_key: KEY, process_info, sig: null });

  it('refuses process_info.start_time 1e20 (no Date can hold it) as bad_frame', () => {
    expect(parseClientFrame(register({ start_time: 1e20 }))).toMatchObject({ ok: false, code: 'bad_frame', app_id: APP, message: expect.stringContaining('process_info.start_time') });
    expect(parseClientFrame(register({ start_time: -1 }))).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(parseClientFrame(register({ start_time: 253_402_300_800_000 }))).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(parseClientFrame(register({ start_time: 1_764_763_200_123.5 }))).toMatchObject({ ok: true });
  });

  it('refuses a pid that is an object, and every other mistyped process_info member, as bad_frame', () => {
    for (const bad of [{ pid: {} }, { pid: -1 }, { pid: 1.5 }, { ppid: '1' }, { uid: 2 ** 32 }, { gid: [] }, { hostname: 5 }, { namespace: 'n'.repeat(257) }, { pod_ip: {} }, { executable: 'x'.repeat(1025) }, { node_name: true }]) {
      expect(parseClientFrame(register(bad)), JSON.stringify(bad)).toMatchObject({ ok: false, code: 'bad_frame' });
    }
    expect(parseClientFrame(register([1]))).toMatchObject({ ok: false, code: 'bad_frame' });
  });

  it('keeps only the known process_info members, typed', () => {
    // An own "__proto__" member, as JSON.parse makes it from the wire.
    const text = register({ pid: 42, uid: 0, hostname: 'h', start_time: 1000, extra: { deep: [1] } }).replace('"extra"', '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"extra"');
    const r = parseClientFrame(text);
    expect(r.ok).toBe(true);
    if (!r.ok || r.frame.type !== 'register') return;
    expect(r.frame.process_info).toEqual({ pid: 42, ppid: null, uid: 0, gid: null, hostname: 'h', node_name: null, pod_ip: null, namespace: null, executable: null, start_time: 1000 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(r.frame.process_info)).toBe(Object.prototype);
  });
});
