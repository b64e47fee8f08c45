/** Small builders shared by the store contract suites. */
import type { JsonValue } from '../../protocol/frames.js';
import type { GatewayStore, NewApp, NewControl, NewMessage, StoreWriter } from '../../gateway/store/types.js';

export const T0 = Date.parse('2026-11-22T00:00:00.000Z');
/** ISO timestamp `s` seconds after T0 (ms precision, UTC, as the store keeps it). */
export const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();
export const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export function app(id: string, over: Partial<NewApp> = {}): NewApp {
  return { app_id: id, parent_id: null, app_name: `app-${id.slice(-4)}`, status: 'running', ...over };
}

export function msg(appId: string, seq: number, over: Partial<NewMessage> = {}): NewMessage {
  return {
    app_id: appId, direction: 'in', msg_type: 'Status', seq, correlation_id: null,
    payload_json: { seq }, created_at: iso(seq), ...over,
  };
}

/** A snapshot is a Status message (the snapshots view shows the app's inbound Status rows). */
export function snap(appId: string, seq: number, createdS: number, body: JsonValue = { seq }): NewMessage {
  return { app_id: appId, direction: 'in', msg_type: 'Status', seq, correlation_id: null, payload_json: body, created_at: iso(createdS) };
}

export function control(appId: string, corr: string, over: Partial<NewControl> = {}): NewControl {
  return {
    app_id: appId, action: 'cancel', payload_json: { reason: 'user' }, correlation_id: corr, status: 'queued',
    origin: 'rest', created_at: iso(0), expires_at: iso(60), ...over,
  };
}

/** A deeply nested payload with the awkward cases: unicode, escapes, floats, nulls, empties. */
export const NESTED: JsonValue = {
  text: 'héllo ✓ 日本語 🚀 "quoted" \\ back\nslash',
  n: [0, -1, 0.1, 1.5e300, 2 ** 53 - 1],
  flags: { on: true, off: false, none: null },
  deep: { a: { b: { c: [{ d: [[], {}, ''] }] } } },
  'ключ 🔑': 'значение',
};

export function seed(store: GatewayStore, fn: (w: StoreWriter) => void): void {
  store.transaction(fn);
}

export function between(value: string, before: string, after: string): boolean {
  return value >= before && value <= after;
}
