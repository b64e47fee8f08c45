/** Device refusals of unproven keys (gateway/audit/device-refusals.ts): the first in full, repeats counted. */
import { describe, expect, it } from 'vitest';
import { DeviceRefusalAudit } from '../../gateway/audit/device-refusals.js';
import { RefusalTally } from '../../gateway/audit/refusal-tally.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import type { NewAudit } from '../../gateway/store/types.js';

const row = (over: Partial<NewAudit> = {}): NewAudit => ({
  timestamp: '2026-06-01T00:00:00.000Z', action: 'register', target_app_id: 'a1', cascade: false, payload_json: { presented_key: 'k2', pinned_key: 'k1' },
  auth_domain: 'device', source_app_id: null, oauth_subject: null, source_ip: '10.6.6.6', user_agent: null, outcome: 'refused:app_owned', ...over,
});

function audit(maxEntries = 100) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const full: NewAudit[] = [];
  const counted: NewAudit[][] = [];
  const tally = new RefusalTally(clock, (rows) => counted.push(rows), { intervalMs: 60_000, maxEntries: 100 });
  return { clock, full, counted, tally, a: new DeviceRefusalAudit(clock, (r) => full.push(r), tally, { intervalMs: 60_000, maxEntries }) };
}

describe('DeviceRefusalAudit', () => {
  it('writes the first refusal of a key in full and counts its 5,000 repeats in one row', () => {
    const { clock, full, counted, tally, a } = audit();
    for (let i = 0; i < 5001; i++) a.record(row(), 'k2');
    a.record(row({ source_ip: '10.6.6.7' }), 'k2');
    a.record(row(), 'k3');
    expect(full.map((r) => [r.source_ip, (r.payload_json as { presented_key: string }).presented_key])).toEqual([['10.6.6.6', 'k2'], ['10.6.6.7', 'k2'], ['10.6.6.6', 'k2']]);
    tally.flush();
    expect(counted.flat().map((r) => [r.source_ip, r.outcome, r.count])).toEqual([['10.6.6.6', 'refused:app_owned', 5000]]);
    clock.advance(60_000);
    a.record(row(), 'k2');
    expect(full).toHaveLength(4); // a new interval writes it in full again
  });

  it('past its bound every refusal is counted, none written in full', () => {
    const { full, counted, tally, a } = audit(2);
    for (let i = 0; i < 10; i++) a.record(row({ target_app_id: `a${i}` }), 'k');
    expect(full).toHaveLength(2);
    tally.flush();
    expect(counted.flat().reduce((n, r) => n + (r.count ?? 1), 0)).toBe(8);
  });
});
