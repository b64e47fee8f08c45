/** The refusal tally alone (gateway/audit/refusal-tally.ts), on a manual clock. */
import { describe, expect, it } from 'vitest';
import { PATH_EXCERPT, RefusalTally, pathExcerpt, type Refusal } from '../../gateway/audit/refusal-tally.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import type { NewAudit } from '../../gateway/store/types.js';

function tally(maxEntries = 1000, intervalMs = 60_000) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const written: NewAudit[][] = [];
  const t = new RefusalTally(clock, (rows) => written.push(rows), { intervalMs, maxEntries });
  return { clock, written, t };
}

const refusal = (over: Partial<Refusal> = {}): Refusal => ({
  source: '192.0.2.1', action: 'list_apps', outcome: 'refused:401:unauthenticated', method: 'get', url: '/api/v1/apps?x=1', userAgent: 'curl/8', ...over,
});

describe('RefusalTally', () => {
  it('counts per address, action and reason, and writes one row each when the interval ends', () => {
    const { clock, written, t } = tally();
    for (let i = 0; i < 500; i++) t.record(refusal());
    for (let i = 0; i < 20; i++) t.record(refusal({ outcome: 'refused:401:bad_signature' }));
    t.record(refusal({ source: '192.0.2.2' }));
    clock.advance(10_000);
    t.record(refusal());
    expect(written).toEqual([]);
    clock.advance(50_000);
    expect(written).toHaveLength(1);
    const rows = written[0]!;
    expect(rows.map((r) => [r.source_ip, r.outcome, r.count])).toEqual([
      ['192.0.2.1', 'refused:401:unauthenticated', 501],
      ['192.0.2.1', 'refused:401:bad_signature', 20],
      ['192.0.2.2', 'refused:401:unauthenticated', 1],
    ]);
    expect(rows[0]).toMatchObject({
      timestamp: '2026-06-01T00:00:00.000Z', action: 'list_apps', auth_domain: 'none', target_app_id: null, source_app_id: null, user_agent: 'curl/8',
      payload_json: { method: 'GET', path: '/api/v1/apps', first_at: '2026-06-01T00:00:00.000Z', last_at: '2026-06-01T00:00:10.000Z' },
    });
    expect(t.size).toBe(0);
    // Nothing counted: nothing written, no timer left.
    clock.advance(600_000);
    expect(written).toHaveLength(1);
  });

  it('past maxEntries counters, the rest are counted in one row per reason without an address', () => {
    const { written, t } = tally(3);
    for (let i = 0; i < 1000; i++) t.record(refusal({ source: `10.0.${i >> 8}.${i & 255}` }));
    t.record(refusal({ source: '10.9.9.9', outcome: 'refused:401:bad_key' }));
    expect(t.size).toBe(5);
    t.flush();
    const rows = written[0]!;
    expect(rows).toHaveLength(5);
    expect(rows.slice(0, 3).map((r) => r.count)).toEqual([1, 1, 1]);
    expect(rows[3]).toMatchObject({ source_ip: null, user_agent: null, outcome: 'refused:401:unauthenticated', count: 997, payload_json: { overflow: true, sources: 3 } });
    expect(rows[4]).toMatchObject({ source_ip: null, outcome: 'refused:401:bad_key', count: 1, payload_json: { overflow: true, sources: 1 } });
  });

  it('keeps only excerpts: no query, the path cut, the user agent cut, the method cut', () => {
    const { written, t } = tally();
    t.record(refusal({ url: `/${'p'.repeat(5000)}?${'q'.repeat(7000)}`, userAgent: 'u'.repeat(9000), method: 'M'.repeat(100) }));
    t.flush();
    const row = written[0]![0]!;
    const p = row.payload_json as { path: string; method: string };
    expect(p.path).toHaveLength(PATH_EXCERPT);
    expect(row.user_agent).toHaveLength(128);
    expect(p.method).toHaveLength(16);
    expect(JSON.stringify(row).length).toBeLessThan(1024);
    expect(pathExcerpt('/a?b=c?d')).toBe('/a');
    expect(pathExcerpt('')).toBe('');
  });

  it('close writes what is counted', () => {
    const { written, t } = tally();
    t.record(refusal());
    t.close();
    expect(written.map((rows) => rows.map((r) => r.count))).toEqual([[1]]);
  });
});
