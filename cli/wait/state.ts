/**
 * What a wait knows about the apps it waits for, fed with watch messages
 * (pure: no sockets, no clocks). Two scopes: named apps (--uuid, --uuids,
 * one watch each, app_id filter) and the direct children of a parent
 * (--parent, one watch with parent_id, which also reports grandchildren:
 * those are ignored; children declared while waiting join the wait).
 */
import type { JsonValue } from '../../protocol/frames.js';
import { TERMINAL_STATUSES, type AppStatus } from '../../protocol/api/resources.js';
import type { WatchEvent, WatchMessage } from '../api/types.js';
import { WAIT_ENDS, exitCodeFor } from '../exit-codes.js';

export type Scope = { kind: 'ids'; ids: readonly string[] } | { kind: 'parent'; parentId: string };
export type Mode = 'any' | 'all';

export interface Track {
  app_id: string;
  app_name: string | null;
  status: AppStatus;
  ended: boolean;
  result?: JsonValue;
  error?: JsonValue;
  crash_type?: string;
}

export interface Outcome {
  app_id: string;
  app_name: string | null;
  status: AppStatus;
  exit_code: number;
  result?: JsonValue;
  error?: JsonValue;
  crash_type?: string;
}

/** What --progress shows: the state found at catch-up, and every event after it. */
export type Note = { kind: 'found'; track: Track; snapshot?: JsonValue; seq?: number } | { kind: 'event'; track: Track; event: WatchEvent };

export type Verdict = { done: false } | { done: true; outcomes: Outcome[]; exitCode: number };

export class WaitState {
  readonly tracks = new Map<string, Track>();
  private readonly endOrder: string[] = [];

  constructor(
    readonly scope: Scope,
    readonly mode: Mode,
    private readonly note: (n: Note) => void = () => {},
  ) {}

  apply(m: WatchMessage): void {
    switch (m.type) {
      case 'snapshot': {
        const a = m.app;
        if (!this.accepts(a.app_id, a.parent_id)) return;
        const t = this.track(a.app_id);
        t.app_name = a.app_name;
        this.outcome(t, m);
        this.setStatus(t, a.status);
        this.note({ kind: 'found', track: t, ...(m.latest_snapshot ? { snapshot: m.latest_snapshot.snapshot_json, seq: m.latest_snapshot.seq } : {}) });
        return;
      }
      case 'event':
        return this.onEvent(m.event);
      case 'events':
        for (const e of m.events) this.onEvent(e);
        return;
      case 'terminal': {
        const t = this.tracks.get(m.app_id);
        if (!t) return;
        this.outcome(t, m);
        this.setStatus(t, m.status);
        return;
      }
      default:
        return;
    }
  }

  /** Whether the wait is over, judged after each whole watch message. */
  verdict(): Verdict {
    if (this.mode === 'any') {
      const first = this.endOrder[0];
      if (first === undefined) return { done: false };
      const o = outcomeOf(this.tracks.get(first)!);
      return { done: true, outcomes: [o], exitCode: o.exit_code };
    }
    const expected = this.scope.kind === 'ids' ? this.scope.ids : [...this.tracks.keys()];
    if (expected.length === 0 || !expected.every((id) => this.tracks.get(id)?.ended)) return { done: false };
    const outcomes = this.endOrder.filter((id) => expected.includes(id)).map((id) => outcomeOf(this.tracks.get(id)!));
    return { done: true, outcomes, exitCode: outcomes.find((o) => o.exit_code !== 0)?.exit_code ?? 0 };
  }

  /** The apps not yet ended (for a timeout message). */
  pending(): Track[] {
    const ids = this.scope.kind === 'ids' ? this.scope.ids : [...this.tracks.keys()];
    return ids.map((id) => this.tracks.get(id) ?? { app_id: id, app_name: null, status: 'scheduled' as AppStatus, ended: false }).filter((t) => !t.ended);
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'app_status' && !this.tracks.has(e.app_id) && this.scope.kind === 'parent' && e.parent_id === this.scope.parentId) this.track(e.app_id);
    const t = this.tracks.get(e.app_id);
    if (!t) return;
    if (e.type === 'message' && e.msg_type === 'Result') t.result = e.payload ?? null;
    if (e.type === 'message' && e.msg_type === 'Error') t.error = e.payload ?? null;
    if (e.type === 'crash' && e.crash_type) t.crash_type = e.crash_type;
    this.note({ kind: 'event', track: t, event: e });
    if (e.type !== 'app_status' || !e.status) return;
    const status = e.status as AppStatus;
    // A named app's watch ends with a terminal message that carries the outcome (crash_type included):
    // the wait ends on that. lost_contact has no terminal message, so it ends here.
    if (this.scope.kind === 'ids' && TERMINAL_STATUSES.includes(status)) t.status = status;
    else this.setStatus(t, status);
  }

  private accepts(appId: string, parentId: string | null): boolean {
    return this.scope.kind === 'ids' ? this.scope.ids.includes(appId) : parentId === this.scope.parentId;
  }

  private track(appId: string): Track {
    let t = this.tracks.get(appId);
    if (!t) {
      t = { app_id: appId, app_name: null, status: 'scheduled', ended: false };
      this.tracks.set(appId, t);
    }
    return t;
  }

  private setStatus(t: Track, status: AppStatus): void {
    t.status = status;
    if (!t.ended && WAIT_ENDS.includes(status)) {
      t.ended = true;
      this.endOrder.push(t.app_id);
    }
  }

  private outcome(t: Track, m: { result?: JsonValue; error?: JsonValue; crash_type?: string }): void {
    if (m.result !== undefined) t.result = m.result;
    if (m.error !== undefined) t.error = m.error;
    if (m.crash_type !== undefined) t.crash_type = m.crash_type;
  }
}

export function outcomeOf(t: Track): Outcome {
  const o: Outcome = { app_id: t.app_id, app_name: t.app_name, status: t.status, exit_code: exitCodeFor(t.status) };
  if (t.status === 'done' && t.result !== undefined) o.result = t.result;
  if (t.status === 'error' && t.error !== undefined) o.error = t.error;
  if (t.crash_type !== undefined && o.exit_code === 2) o.crash_type = t.crash_type;
  return o;
}
