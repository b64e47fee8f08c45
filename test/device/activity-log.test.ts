/**
 * The activity log (gateway/device/activity-log.ts) with a manual clock: one
 * line per event while it is quiet, at most perWindow a window per kind under
 * load, and one summary line per kind for what it held back; the app lookup
 * runs only for lines that are printed.
 */
import { describe, expect, it } from 'vitest';
import { ActivityLog, type AppFacts } from '../../gateway/device/activity-log.js';
import type { GatewayEvent } from '../../gateway/events.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';

const ID = '1a2b3c4d-0000-4000-8000-000000000001';
const at = '2026-01-01T00:00:00.000Z';
const ref = { app_id: ID, parent_id: null, namespace: null, at };

function setup(apps: Record<string, AppFacts> = {}, perWindow = 3) {
  const clock = new ManualClock();
  const lines: Array<{ level: string; line: string; kind: string }> = [];
  let lookups = 0;
  const log = new ActivityLog(
    clock,
    (level, line, f) => lines.push({ level, line, kind: f.activity }),
    (id) => (lookups++, apps[id]),
    { perWindow, windowMs: 1000, summaryMs: 10_000 },
  );
  log.start();
  return { clock, lines, log, lookups: () => lookups };
}

const sensor: AppFacts = { app_name: 'sensor', sec_level: 'signed', metadata_json: null };

describe('activity log', () => {
  it('says each lifecycle step in one line, with the app name and short id', () => {
    const { lines, log } = setup({
      [ID]: sensor,
      b: { app_name: 'esp-c3', sec_level: 'signed', metadata_json: { bootstrap: { mac: 'aa:bb:cc:dd:ee:ff' } } },
      k: { app_name: 'stuck', sec_level: 'open', metadata_json: { force_killed: true } },
    });
    log.connected('192.168.1.20');
    const events: GatewayEvent[] = [
      { ...ref, type: 'app_status', status: 'connected' },
      { ...ref, type: 'message', msg_type: 'Status', seq: 1, payload: {} },
      { ...ref, type: 'app_status', status: 'running' },
      { ...ref, type: 'crash', crash_type: 'heartbeat_timeout' },
      { ...ref, app_id: 'b', type: 'app_status', status: 'scheduled' },
      { ...ref, app_id: 'b', type: 'control', correlation_id: 'c', action: 'provision', status: 'answered' },
      { ...ref, app_id: 'k', type: 'app_status', status: 'cancelled' },
      { ...ref, type: 'app_status', status: 'done' },
      { ...ref, app_id: 'gone', type: 'app_status', status: 'cancelled' },
    ];
    for (const e of events) log.onEvent(e);
    expect(lines.map((l) => l.line)).toEqual([
      'device connected from 192.168.1.20',
      'sensor (1a2b3c4d) registered, tier signed',
      'sensor (1a2b3c4d) crashed (heartbeat_timeout)',
      'esp-c3 (b) claimed (device MAC aa:bb:cc:dd:ee:ff)',
      'esp-c3 (b) provisioned',
      'stuck (k) force-killed (cancelled without its answer)',
      'sensor (1a2b3c4d) done',
      'app gone cancelled',
    ]);
    expect(lines.every((l) => l.level === 'info')).toBe(true);
  });

  it('past perWindow a window, holds lines back and summarises them once per summary period', () => {
    const { clock, lines, log, lookups } = setup({ [ID]: sensor }, 3);
    for (let i = 0; i < 500; i++) log.onEvent({ ...ref, type: 'app_status', status: 'connected' });
    for (let i = 0; i < 5; i++) log.connected('10.0.0.1');
    expect(lines.filter((l) => l.kind === 'registration')).toHaveLength(3);
    expect(lines.filter((l) => l.kind === 'connection')).toHaveLength(3);
    // Two lookups (name, tier) per printed registration; none for the 497 held back.
    expect(lookups()).toBe(6);
    clock.advance(1000);
    // A new window: three more lines may go out.
    for (let i = 0; i < 10; i++) log.onEvent({ ...ref, type: 'app_status', status: 'connected' });
    expect(lines.filter((l) => l.kind === 'registration')).toHaveLength(6);
    expect(lines.some((l) => l.line.startsWith('…'))).toBe(false);
    clock.advance(9000);
    expect(lines.filter((l) => l.line.startsWith('…')).map((l) => l.line)).toEqual([
      '… and 504 more registrations in the last 10 s',
      '… and 2 more connections in the last 10 s',
    ]);
    // Counted once: the next period is quiet, so nothing more is said.
    clock.advance(10_000);
    expect(lines.filter((l) => l.line.startsWith('…'))).toHaveLength(2);
  });

  it('stop() says what is still held back', () => {
    const { lines, log } = setup({}, 1);
    log.onEvent({ ...ref, type: 'crash', crash_type: 'connection_drop' });
    log.onEvent({ ...ref, type: 'crash', crash_type: 'connection_drop' });
    log.stop();
    expect(lines.map((l) => l.line)).toEqual(['app 1a2b3c4d crashed (connection_drop)', '… and 1 more crashes in the last 10 s']);
  });

  it('a key mismatch alert is a warning naming the MAC and the address', () => {
    const { lines, log } = setup();
    log.onEvent({ ...ref, app_id: '', type: 'alert', kind: 'key_mismatch', mac: 'aa:bb:cc:dd:ee:ff', presented_key: 'x', pinned_key: 'y', remote: '10.0.0.9' });
    expect(lines).toEqual([{ level: 'warn', kind: 'alert', line: 'key mismatch: MAC aa:bb:cc:dd:ee:ff presented a key it is not pinned to (from 10.0.0.9)' }]);
  });
});
