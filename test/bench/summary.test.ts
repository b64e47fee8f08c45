import { describe, expect, it } from 'vitest';
import type { IngestResult, System } from '../../bench/ingest.js';
import { parseOptions } from '../../bench/lib/options.js';
import { renderMarkdown } from '../../bench/lib/report.js';
import { ratios, roundRatios, sections, type IngestRun, type Results } from '../../bench/lib/summary.js';
import { median } from '../../bench/lib/util.js';
import { mainThreadSched, mainThreadShare, sample } from '../../bench/lib/proc.js';

function run(system: System, acksPerSec: number, round: number): IngestRun {
  const base: IngestResult = {
    system, acksPerSec, acksInWindow: acksPerSec * 10, windowSec: 10,
    latencyMs: { p50: 1, p99: 2, p999: 3 },
    server: { cpuCores: 1, cpuSecInWindow: 10, cpuSecTotal: 12, rssBytes: 1, peakRssBytes: 1, mainThread: { runCores: 0.8, waitCores: 0.15 } },
    generators: { procs: 2, cpuCores: [0.5, 0.5], cpuSecInWindow: 10, cryptoSec: 0 },
    otherCores: 0, connectMs: 1, prepareMs: 1,
    counters: { errors: {} } as unknown as IngestResult['counters'],
    unackedAfterDrain: 0,
  };
  return { ...base, round };
}

const verifyIn = (round: number, allCores = 16000) => ({ oneCore: 8000, allCores, threads: 2, cases: 10, round });
const verify = [verifyIn(1), verifyIn(2), verifyIn(3)];

describe('bench summary over rounds', () => {
  it('median takes the middle value, the lower middle for an even count', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
  });

  it('takes each ratio within a round, then the median over the rounds', () => {
    const ingest = [
      run('open', 40, 1), run('aedes', 50, 1), run('signed', 10_000, 1),
      run('open', 30, 2), run('aedes', 60, 2), run('signed', 12_000, 2),
      run('open', 45, 3), run('aedes', 45, 3), run('signed', 11_000, 3),
    ];
    expect(roundRatios(ingest, verify).map((q) => q.openOverAedes)).toEqual([0.8, 0.5, 1]);
    const q = ratios(ingest, verify);
    expect(q.openOverAedes).toBe(0.8);
    expect(q.signedOverVerifyAll).toBe(11_000 / 16_000);
    expect(q.openOverMosquitto).toBeUndefined();
  });

  it('compares each signed run with the verify rate of its own round', () => {
    const ingest = [run('signed', 10_000, 1), run('signed', 12_000, 2), run('signed', 9_000, 3)];
    const drifting = [verifyIn(1, 16_000), verifyIn(2, 15_000), verifyIn(3, 12_000)];
    expect(roundRatios(ingest, drifting).map((q) => q.signedOverVerifyAll)).toEqual([0.625, 0.8, 0.75]);
    expect(ratios(ingest, drifting).signedOverVerifyAll).toBe(0.75);
    // A round whose verify run failed has no signed ratio; the others still count.
    expect(roundRatios(ingest, drifting.slice(1)).map((q) => q.signedOverVerifyAll)).toEqual([undefined, 0.8, 0.75]);
    expect(ratios(ingest, []).signedOverVerifyAll).toBeUndefined();
  });

  it('the report shows the median round of each system, every round, and the rounds of each ratio', () => {
    const ingest = [run('open', 40, 1), run('aedes', 50, 1), run('open', 30, 2), run('aedes', 60, 2), run('open', 45, 3), run('aedes', 45, 3)];
    const options = parseOptions(['--rounds', '3', '--systems', 'open,aedes'], '/tmp/out');
    const r: Results = {
      startedAt: 'now', seconds: 1, options, verify,
      machine: { cpuModel: 'x', cores: 2, ramBytes: 1, openFilesLimit: '1', node: 'v', kernel: 'k', sqlite: 's', ws: 'w', mosquitto: 'm', aedes: 'a', mqttJs: 'j', loadAvgAtStart: [0, 0, 0], gitCommit: 'c' },
      ingest, ratios: ratios(ingest, verify), restart: [], profiles: {}, failures: [], notes: [],
    };
    const md = renderMarkdown('t', sections(r));
    expect(md).toMatch(/\| open \| 40 \| 40, 30, 45 \| .* \| 1.00 cores \| 0.80 \+ 0.15 \|/);
    expect(md).toMatch(/\| aedes \| 50 \| 50, 60, 45 \|/);
    expect(md).toContain('open / aedes: 0.80 (goal >= 1.00: MISSED); rounds 0.80, 0.50, 1.00');
    expect(md).toContain('8,000 (rounds 8,000, 8,000, 8,000) verifies/s on 1 core; 16,000 (rounds 16,000, 16,000, 16,000)/s on 2 worker threads');
  });

  it('--rounds must be a whole number of at least 1; --quick runs one round', () => {
    expect(parseOptions([], '/o').rounds).toBe(3);
    expect(parseOptions(['--quick'], '/o').rounds).toBe(1);
    expect(() => parseOptions(['--rounds', '0'], '/o')).toThrow(/at least 1/);
    expect(() => parseOptions(['--rounds', '1.5'], '/o')).toThrow(/whole number/);
    expect(() => parseOptions(['--rounds'], '/o')).toThrow(/needs a value/);
  });
});

describe('main thread scheduler times (/proc schedstat)', () => {
  it('reads this process: time on a core grows while it works; a missing process gives undefined', () => {
    const a = sample(process.pid);
    const t = performance.now();
    while (performance.now() - t < 50); // busy for 50 ms
    const b = sample(process.pid);
    const share = mainThreadShare(a, b);
    if (!a.main) return expect(mainThreadSched(process.pid)).toBeUndefined(); // a kernel without schedstats
    expect(share!.runCores).toBeGreaterThan(0.3);
    expect(share!.waitCores).toBeGreaterThanOrEqual(0);
    expect(mainThreadSched(2 ** 22 + 7)).toBeUndefined();
    expect(mainThreadShare({ at: 0, cpuSec: 0, rssBytes: 0, hwmBytes: 0 }, b)).toBeUndefined();
  });
});
