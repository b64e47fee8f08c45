/**
 * Time-driven lifecycle (spec §7, §19): at start, apps this gateway served
 * become reconnecting and, if they do not re_register within the window,
 * lost_contact; scheduled apps past their start deadline become start_failed
 * with a never_started crash (a cancelled one never does: cancel ends it at once).
 */
import type { Timer } from '../ports/clock.js';
import type { AppStatus } from '../store/types.js';
import type { SweeperContext } from './hub-context.js';

export class LifecycleSweeper {
  private timers: Timer[] = [];

  constructor(private readonly hub: SweeperContext) {}

  start(): void {
    const { store } = this.hub.deps;
    const instance = this.hub.options.serverInstance;
    const ids = store.transaction((w) => w.moveStatus(instance, ['connected', 'running'], 'reconnecting', this.hub.nowIso()));
    this.announce(ids, 'reconnecting');
    this.timers.push(this.hub.after(this.hub.options.reconnectWindowMs, () => this.endReconnectWindow()));
    this.timers.push(this.hub.deps.clock.every(1000, () => this.failOverdue()));
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  private endReconnectWindow(): void {
    const instance = this.hub.options.serverInstance;
    let ids: string[] = [];
    this.hub.deps.committer.enqueue(
      (w) => void (ids = w.moveStatus(instance, ['reconnecting'], 'lost_contact', this.hub.nowIso())),
      (err) => err || this.announce(ids, 'lost_contact'),
    );
  }

  private failOverdue(): void {
    const { store, committer } = this.hub.deps;
    for (const app of store.overdueScheduled(this.hub.now())) {
      if (this.hub.liveApp(app.app_id)) continue;
      const now = this.hub.nowIso();
      let failed = false;
      committer.enqueue(
        (w) => {
          // Checked again at the write: a cancel (cascade.ts) or a registration queued since the query wins.
          failed = store.getApp(app.app_id)?.status === 'scheduled' && !this.hub.liveApp(app.app_id);
          if (!failed) return;
          w.updateApp(app.app_id, { status: 'start_failed', updated_at: now });
          w.insertCrash({ app_id: app.app_id, detected_at: now, crash_type: 'never_started', gap_seconds: app.start_deadline, metadata_json: null });
        },
        (err) => {
          if (err || !failed) return;
          const ref = { app_id: app.app_id, parent_id: app.parent_id, namespace: app.namespace, at: now };
          this.hub.deps.events.emit({ ...ref, type: 'app_status', status: 'start_failed' });
          this.hub.deps.events.emit({ ...ref, type: 'crash', crash_type: 'never_started' });
        },
      );
    }
  }

  private announce(ids: string[], status: AppStatus): void {
    const at = this.hub.nowIso();
    for (const id of ids) {
      const row = this.hub.deps.store.getApp(id);
      this.hub.deps.events.emit({ type: 'app_status', app_id: id, parent_id: row?.parent_id ?? null, namespace: row?.namespace ?? null, at, status });
    }
  }
}
