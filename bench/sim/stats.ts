/**
 * Counters a fleet keeps while it runs, and an ack-latency histogram with
 * 0.1 ms bins up to 10 s (the last bin takes everything slower). Histograms
 * from several generator processes are merged by adding bins.
 */
const BINS = 100_001;
const BIN_MS = 0.1;

export class LatencyHistogram {
  bins = new Uint32Array(BINS);
  count = 0;

  add(ms: number): void {
    this.bins[Math.min(BINS - 1, Math.max(0, Math.round(ms / BIN_MS)))]!++;
    this.count++;
  }

  /** Sparse form for IPC: [bin, count] pairs. */
  toPairs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BINS; i++) if (this.bins[i]) out.push([i, this.bins[i]!]);
    return out;
  }

  static merge(all: Array<Array<[number, number]>>): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const pairs of all) for (const [bin, n] of pairs) (h.bins[bin]! += n), (h.count += n);
    return h;
  }

  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const want = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.bins[i]!;
      if (seen >= want) return i * BIN_MS;
    }
    return (BINS - 1) * BIN_MS;
  }
}

export interface FleetCounters {
  sent: number;
  acks: number;
  duplicateAcks: number;
  /** Acks for a seq this device was not waiting for. */
  strayAcks: number;
  resent: number;
  registrations: number;
  /** Signed frames that had to be signed during the run (the pre-signed stock ran out). */
  liveSigned: number;
  /** Encrypted tier: seconds this generator spent sealing frames and opening acks. */
  cryptoSec: number;
  /** Error frames from the gateway, by code. */
  errors: Record<string, number>;
  /** Connections that failed or closed before registering, by reason (a restart storm expects ECONNREFUSED). */
  connectFailures: Record<string, number>;
}

export function newCounters(): FleetCounters {
  return { sent: 0, acks: 0, duplicateAcks: 0, strayAcks: 0, resent: 0, registrations: 0, liveSigned: 0, cryptoSec: 0, errors: {}, connectFailures: {} };
}

export function addCounters(all: FleetCounters[]): FleetCounters {
  const t = newCounters();
  for (const c of all) {
    for (const k of ['sent', 'acks', 'duplicateAcks', 'strayAcks', 'resent', 'registrations', 'liveSigned', 'cryptoSec'] as const) t[k] += c[k];
    for (const [code, n] of Object.entries(c.errors)) t.errors[code] = (t.errors[code] ?? 0) + n;
    for (const [why, n] of Object.entries(c.connectFailures ?? {})) t.connectFailures[why] = (t.connectFailures[why] ?? 0) + n;
  }
  return t;
}
