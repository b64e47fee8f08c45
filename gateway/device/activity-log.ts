/**
 * What the gateway tells its operator, at info: one line per device
 * connecting, registering, being declared or claimed, provisioned, crashing,
 * ending, cancelled. A household box can see thousands of these a second
 * after a restart, so each kind prints at most `perWindow` lines per
 * `windowMs`; what it holds back is counted and said in one summary line per
 * kind every `summaryMs` ("… and 412 more registrations in the last 10 s").
 *
 * Pure: the clock, the sink and the app lookup are injected, and the lookup
 * runs only for a line that is printed (a suppressed one costs a counter).
 */
import type { GatewayEvent } from '../events.js';
import type { Clock, Timer } from '../ports/clock.js';

export type ActivityKind = 'connection' | 'registration' | 'declaration' | 'claim' | 'provision' | 'crash' | 'ending' | 'cancel' | 'alert';
export type ActivityLevel = 'info' | 'warn';
export type ActivitySink = (level: ActivityLevel, line: string, fields: { activity: ActivityKind; app_id?: string }) => void;

/** What the log needs to know of an app to name it. */
export interface AppFacts {
  app_name: string;
  sec_level: string | null;
  metadata_json: unknown;
}

export interface ActivityOptions {
  /** Lines printed per kind in each window; the rest are counted. */
  perWindow: number;
  windowMs: number;
  /** How often the counted ones are summarised (one line per kind that held any back). */
  summaryMs: number;
}

export const DEFAULT_ACTIVITY_OPTIONS: ActivityOptions = { perWindow: 10, windowMs: 1000, summaryMs: 10_000 };

/** Plural nouns for the summary line. */
const NOUNS: Record<ActivityKind, string> = {
  connection: 'connections',
  registration: 'registrations',
  declaration: 'declared children',
  claim: 'claims',
  provision: 'provisions',
  crash: 'crashes',
  ending: 'apps ended',
  cancel: 'cancels',
  alert: 'alerts',
};

interface KindState {
  windowStart: number;
  shown: number;
  held: number;
}

export class ActivityLog {
  private readonly kinds = new Map<ActivityKind, KindState>();
  private readonly options: ActivityOptions;
  private summaryTimer?: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly sink: ActivitySink,
    private readonly lookup: (appId: string) => AppFacts | undefined,
    options: Partial<ActivityOptions> = {},
  ) {
    this.options = { ...DEFAULT_ACTIVITY_OPTIONS, ...options };
  }

  start(): void {
    this.summaryTimer = this.clock.every(this.options.summaryMs, () => this.summarise());
  }

  /** Says what is still held back, so nothing counted is lost at shutdown. */
  stop(): void {
    this.summaryTimer?.cancel();
    this.summarise();
  }

  /** A socket was opened on /ws. */
  connected(remote: string): void {
    this.record('connection', 'info', () => `device connected from ${remote}`);
  }

  /** The EventBus listener. Messages and control traffic other than provisions are not activity. */
  onEvent(e: GatewayEvent): void {
    switch (e.type) {
      case 'app_status':
        return this.onStatus(e.app_id, e.status);
      case 'crash':
        return this.record('crash', 'info', () => `${this.name(e.app_id)} crashed (${e.crash_type})`, e.app_id);
      case 'control':
        if (e.action === 'provision' && e.status === 'answered') this.record('provision', 'info', () => `${this.name(e.app_id)} provisioned`, e.app_id);
        return;
      case 'alert':
        return this.record('alert', 'warn', () => `key mismatch: ${e.mac ? `MAC ${e.mac}` : this.name(e.app_id)} presented a key it is not pinned to${e.remote ? ` (from ${e.remote})` : ''}`, e.app_id || undefined);
      case 'message':
        return;
    }
  }

  private onStatus(appId: string, status: string): void {
    switch (status) {
      case 'connected':
        return this.record('registration', 'info', () => `${this.name(appId)} registered, tier ${this.lookup(appId)?.sec_level ?? 'open'}`, appId);
      case 'scheduled': {
        const claimed = this.bootstrapMac(appId);
        if (claimed) return this.record('claim', 'info', () => `${this.name(appId)} claimed (device MAC ${claimed})`, appId);
        return this.record('declaration', 'info', () => `${this.name(appId)} declared`, appId);
      }
      case 'cancelled':
        return this.record('cancel', 'info', () => `${this.name(appId)} ${this.forceKilled(appId) ? 'force-killed (cancelled without its answer)' : 'cancelled'}`, appId);
      case 'done':
      case 'error':
      case 'start_failed':
      case 'lost_contact':
        return this.record('ending', 'info', () => `${this.name(appId)} ${status.replace('_', ' ')}`, appId);
    }
  }

  private record(kind: ActivityKind, level: ActivityLevel, render: () => string, appId?: string): void {
    const now = this.clock.now();
    let s = this.kinds.get(kind);
    if (!s) this.kinds.set(kind, (s = { windowStart: now, shown: 0, held: 0 }));
    if (now - s.windowStart >= this.options.windowMs) {
      s.windowStart = now;
      s.shown = 0;
    }
    if (s.shown >= this.options.perWindow) {
      s.held++;
      return;
    }
    s.shown++;
    this.sink(level, render(), appId ? { activity: kind, app_id: appId } : { activity: kind });
  }

  private summarise(): void {
    const seconds = Math.round(this.options.summaryMs / 100) / 10;
    for (const [kind, s] of this.kinds) {
      if (s.held === 0) continue;
      this.sink('info', `… and ${s.held} more ${NOUNS[kind]} in the last ${seconds} s`, { activity: kind });
      s.held = 0;
    }
  }

  /** "name (1a2b3c4d)": the app's name and the short id that `trails tree` prints. */
  private name(appId: string): string {
    const name = this.lookup(appId)?.app_name;
    return name ? `${name} (${appId.slice(0, 8)})` : `app ${appId.slice(0, 8)}`;
  }

  private bootstrapMac(appId: string): string | undefined {
    const meta = this.lookup(appId)?.metadata_json as { bootstrap?: { mac?: unknown } } | null | undefined;
    return typeof meta?.bootstrap?.mac === 'string' ? meta.bootstrap.mac : undefined;
  }

  private forceKilled(appId: string): boolean {
    return (this.lookup(appId)?.metadata_json as { force_killed?: unknown } | null | undefined)?.force_killed === true;
  }
}
