/**
 * Refusals of requests that proved nothing (a 401: unsigned, badly signed,
 * replayed, an unknown key) are counted, not written one by one: a stranger
 * can send them as fast as the network carries them, and a row each would
 * let anyone on the LAN fill the disk (issue 11: 2,000 requests with a 7 KB
 * query added 15 MB in 3 s). Each (source address, action, reason) gets one
 * counter per interval; when the interval ends, every counter becomes one
 * audit row with its count.
 *
 * Bounded twice: at most `maxEntries` counters per interval (beyond them,
 * refusals are counted in one counter per reason with no address), and
 * nothing of the request is kept but a short excerpt: the method, the path
 * without its query cut to PATH_EXCERPT characters, and the first
 * USER_AGENT_EXCERPT characters of the User-Agent.
 */
import type { Clock, Timer } from '../ports/clock.js';
import { iso } from '../ports/clock.js';
import type { NewAudit } from '../store/types.js';

export const PATH_EXCERPT = 256;
export const USER_AGENT_EXCERPT = 128;
const METHOD_EXCERPT = 16;

export interface RefusalTallyOptions {
  /** Length of one counting interval. */
  intervalMs: number;
  /** Distinct (address, action, reason) counters per interval before the overflow counter takes the rest. */
  maxEntries: number;
}

export const DEFAULT_REFUSAL_TALLY: RefusalTallyOptions = { intervalMs: 60_000, maxEntries: 1000 };

/** One refused request, as the auditor saw it. */
export interface Refusal {
  source: string | null;
  action: string;
  /** refused:<status>:<code>. */
  outcome: string;
  method: string;
  /** The request target as received; only an excerpt is kept. */
  url: string;
  userAgent: string | null;
}

interface Counter {
  readonly source: string | null;
  readonly action: string;
  readonly outcome: string;
  readonly method: string;
  readonly path: string;
  readonly userAgent: string | null;
  readonly firstAt: number;
  lastAt: number;
  count: number;
  /** Overflow counter: how many distinct sources it took in. */
  readonly folded?: Set<string>;
}

export class RefusalTally {
  private counters = new Map<string, Counter>();
  private timer?: Timer;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    /** Writes the rows of one interval (one group-commit write). */
    private readonly write: (rows: NewAudit[]) => void,
    private readonly opts: RefusalTallyOptions = DEFAULT_REFUSAL_TALLY,
  ) {}

  /** Counters held now (for tests and /healthz-style figures). */
  get size(): number {
    return this.counters.size;
  }

  record(r: Refusal): void {
    const now = this.clock.now();
    const key = `${r.source ?? ''}\u0000${r.action}\u0000${r.outcome}`;
    const hit = this.counters.get(key);
    if (hit) {
      hit.count++;
      hit.lastAt = now;
      return;
    }
    if (this.counters.size < this.opts.maxEntries) this.counters.set(key, counter(r, now));
    else this.overflow(r, now);
    if (!this.timer && !this.closed) this.timer = this.clock.after(this.opts.intervalMs, () => this.flush());
  }

  /** Writes every counter as one row and starts a new interval. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.counters.size === 0) return;
    const rows = [...this.counters.values()].map(toRow);
    this.counters = new Map();
    this.write(rows);
  }

  /** Flushes what is counted; later refusals are still counted, and written by the next flush(). */
  close(): void {
    this.closed = true;
    this.flush();
  }

  private overflow(r: Refusal, now: number): void {
    const key = `\u0001overflow\u0000${r.outcome}`;
    let c = this.counters.get(key);
    if (!c) {
      c = { ...counter({ ...r, source: null, userAgent: null }, now), count: 0, folded: new Set() };
      this.counters.set(key, c);
    }
    c.count++;
    c.lastAt = now;
    // The set of folded sources is itself bounded: past maxEntries it only says "at least".
    if (r.source !== null && c.folded!.size < this.opts.maxEntries) c.folded!.add(r.source);
  }
}

function counter(r: Refusal, now: number): Counter {
  return {
    source: r.source,
    action: r.action,
    outcome: r.outcome,
    method: r.method.slice(0, METHOD_EXCERPT).toUpperCase(),
    path: pathExcerpt(r.url),
    userAgent: r.userAgent === null ? null : r.userAgent.slice(0, USER_AGENT_EXCERPT),
    firstAt: now,
    lastAt: now,
    count: 1,
  };
}

/** The path without its query string, cut to PATH_EXCERPT characters. */
export function pathExcerpt(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, PATH_EXCERPT);
}

function toRow(c: Counter): NewAudit {
  return {
    timestamp: iso(c.firstAt),
    action: c.action,
    target_app_id: null,
    cascade: false,
    payload_json: {
      method: c.method,
      path: c.path,
      first_at: iso(c.firstAt),
      last_at: iso(c.lastAt),
      ...(c.folded ? { overflow: true, sources: c.folded.size } : {}),
    },
    auth_domain: 'none',
    source_app_id: null,
    oauth_subject: null,
    source_ip: c.source,
    user_agent: c.userAgent,
    outcome: c.outcome,
    count: c.count,
  };
}
