/**
 * Parsing and validation of client frames. Pure: text in, a typed frame or a
 * typed error out. Every field is checked at this boundary so the hub can trust
 * what it receives; messages name the field, as noble-curves does.
 */
import type { ClientFrame, ErrorCode, MsgType, ProcessInfo, SecLevel } from './frames.js';
import { MSG_TYPES, SEC_LEVELS } from './frames.js';
import { validateBootstrapRegister } from './bootstrap-frames.js';
import { checkJsonBudget } from './json-budget.js';

export type ParseResult =
  /** `raw` is the frame exactly as sent: signatures are checked over it, never over the normalised `frame`. */
  | { ok: true; frame: ClientFrame; raw: Record<string, unknown> }
  | { ok: false; code: ErrorCode; message: string; app_id?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 256;
const MAX_ROLE_REFS = 64;

class FrameError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}

export function parseClientFrame(text: string): ParseResult {
  // Before anything recursive touches the frame (json-budget.ts).
  const budget = checkJsonBudget(text);
  if (!budget.ok) return { ok: false, code: 'too_complex', message: `frame refused: ${budget.message}` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'invalid_json', message: `frame is not valid JSON: ${(e as Error).message}` };
  }
  if (!isObject(raw)) return { ok: false, code: 'bad_frame', message: 'frame must be a JSON object' };
  const appId = isUuid(raw.app_id) ? raw.app_id.toLowerCase() : undefined;
  try {
    return { ok: true, frame: validate(raw), raw };
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    return appId === undefined
      ? { ok: false, code: e.code, message: e.message }
      : { ok: false, code: e.code, message: e.message, app_id: appId };
  }
}

function validate(o: Record<string, unknown>): ClientFrame {
  switch (o.type) {
    case 'register':
      return {
        type: 'register',
        app_id: uuid(o, 'app_id'),
        parent_id: o.parent_id == null ? null : uuid(o, 'parent_id'),
        app_name: str(o, 'app_name', MAX_NAME),
        child_pub_key: str(o, 'child_pub_key', 128),
        process_info: optProcessInfo(o),
        role_refs: optStringArray(o, 'role_refs'),
        sec_level: optSecLevel(o),
        timestamp: optInt(o, 'timestamp'),
        child_ephemeral: optStr(o, 'child_ephemeral', 64),
        join: optStr(o, 'join', 64),
        sig: optStr(o, 'sig', 256),
      };
    case 're_register':
      return {
        type: 're_register',
        app_id: uuid(o, 'app_id'),
        last_seq: optInt(o, 'last_seq'),
        pub_key: str(o, 'pub_key', 128),
        timestamp: optInt(o, 'timestamp'),
        child_ephemeral: optStr(o, 'child_ephemeral', 64),
        join: optStr(o, 'join', 64),
        sig: optStr(o, 'sig', 256),
      };
    case 'message':
      return validateMessage(o);
    case 'disconnect':
      return {
        type: 'disconnect',
        app_id: uuid(o, 'app_id'),
        reason: optStr(o, 'reason', MAX_NAME),
        timestamp: optInt(o, 'timestamp'),
        sig: optStr(o, 'sig', 256),
      };
    case 'control_response':
      return {
        type: 'control_response',
        app_id: uuid(o, 'app_id'),
        correlation_id: str(o, 'correlation_id', 128),
        ack: bool(o, 'ack'),
        result: o.result as never,
        error: optStr(o, 'error', 1024),
        action: optStr(o, 'action', MAX_NAME),
        timestamp: optInt(o, 'timestamp'),
        sig: optStr(o, 'sig', 256),
      };
    case 'bootstrap_register':
      return validateBootstrapRegister(o, (m) => {
        throw new FrameError('bad_frame', m);
      });
    case undefined:
      throw new FrameError('bad_frame', 'frame has no "type"');
    default:
      throw new FrameError('unknown_type', `unknown frame type ${short(o.type)}`);
  }
}

function validateMessage(o: Record<string, unknown>): ClientFrame {
  const h = o.header;
  if (!isObject(h)) throw new FrameError('bad_frame', '"header" must be an object');
  const msgType = h.msg_type;
  if (!MSG_TYPES.includes(msgType as MsgType)) {
    throw new FrameError('bad_frame', `"header.msg_type" must be one of ${MSG_TYPES.join(', ')}`);
  }
  const seq = h.seq;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) {
    throw new FrameError('bad_frame', '"header.seq" must be an integer >= 1');
  }
  const ts = h.timestamp;
  if (!Number.isSafeInteger(ts) || (ts as number) < 0) {
    throw new FrameError('bad_frame', '"header.timestamp" must be epoch milliseconds');
  }
  if (!('payload' in o) || o.payload === undefined) throw new FrameError('bad_frame', '"payload" is required');
  return {
    type: 'message',
    app_id: uuid(o, 'app_id'),
    header: {
      msg_type: msgType as MsgType,
      seq: seq as number,
      timestamp: ts as number,
      correlation_id: optStr(h, 'correlation_id', 128, 'header.'),
    },
    payload: o.payload as never,
    start_day: optInt(o, 'start_day'),
    sig: optStr(o, 'sig', 256),
  };
}

// ── field checks ────────────────────────────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uuid(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (!isUuid(v)) throw new FrameError('bad_frame', `"${key}" must be a UUID, got ${short(v)}`);
  return v.toLowerCase();
}

function str(o: Record<string, unknown>, key: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new FrameError('bad_frame', `"${key}" must be a non-empty string`);
  if (v.length > max) throw new FrameError('bad_frame', `"${key}" is longer than ${max} characters`);
  return v;
}

function optStr(o: Record<string, unknown>, key: string, max: number, prefix = ''): string | null {
  const v = o[key];
  if (v == null) return null;
  if (typeof v !== 'string') throw new FrameError('bad_frame', `"${prefix}${key}" must be a string or null`);
  if (v.length > max) throw new FrameError('bad_frame', `"${prefix}${key}" is longer than ${max} characters`);
  return v;
}

function optInt(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  if (v == null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new FrameError('bad_frame', `"${key}" must be a non-negative integer or null`);
  }
  return v as number;
}

function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new FrameError('bad_frame', `"${key}" must be true or false`);
  return v;
}

// ── process_info: every member is stored in its own column (AppRow) ──

/** pid, ppid, uid and gid: 32-bit unsigned, as on every POSIX system. */
const MAX_ID = 0xffff_ffff;
/** Latest start_time: 9999-12-31T23:59:59.999Z, the last instant an ISO 8601 row can hold in four digits. */
export const MAX_START_TIME_MS = 253_402_300_799_999;
const PI_INTS = ['pid', 'ppid', 'uid', 'gid'] as const;
const PI_TEXTS = { hostname: MAX_NAME, node_name: MAX_NAME, pod_ip: 64, namespace: MAX_NAME, executable: 1024 } as const;

/** A typed copy with only the known members (unknown ones are dropped, so none reaches storage). */
function optProcessInfo(o: Record<string, unknown>): ProcessInfo | null {
  const v = o.process_info;
  if (v == null) return null;
  if (!isObject(v)) throw new FrameError('bad_frame', '"process_info" must be an object or null');
  const out: ProcessInfo = {};
  for (const k of PI_INTS) out[k] = optRange(v, k, 0, MAX_ID, true);
  for (const [k, max] of Object.entries(PI_TEXTS) as Array<[keyof typeof PI_TEXTS, number]>) out[k] = optStr(v, k, max, 'process_info.');
  out.start_time = optRange(v, 'start_time', 0, MAX_START_TIME_MS, false);
  return out;
}

function optRange(o: Record<string, unknown>, key: string, min: number, max: number, integer: boolean): number | null {
  const v = o[key];
  if (v == null) return null;
  const ok = typeof v === 'number' && (integer ? Number.isSafeInteger(v) : Number.isFinite(v)) && v >= min && v <= max;
  if (!ok) throw new FrameError('bad_frame', `"process_info.${key}" must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} or null`);
  return v as number;
}

function optStringArray(o: Record<string, unknown>, key: string): string[] | null {
  const v = o[key];
  if (v == null) return null;
  if (!Array.isArray(v) || v.length > MAX_ROLE_REFS || !v.every((s) => typeof s === 'string' && s.length <= MAX_NAME)) {
    throw new FrameError('bad_frame', `"${key}" must be an array of at most ${MAX_ROLE_REFS} strings`);
  }
  return v as string[];
}

function optSecLevel(o: Record<string, unknown>): SecLevel | null {
  const v = o.sec_level;
  if (v == null) return null;
  if (!SEC_LEVELS.includes(v as SecLevel)) {
    throw new FrameError('bad_frame', `"sec_level" must be one of ${SEC_LEVELS.join(', ')}`);
  }
  return v as SecLevel;
}

/**
 * A bounded description of a bad value for an error message: never
 * serialises an object or array (whatever its depth), and cuts strings.
 */
export function short(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v.length > 57 ? `${JSON.stringify(v.slice(0, 54))}...` : JSON.stringify(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
