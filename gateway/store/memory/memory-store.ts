/**
 * In-memory twin of SqliteStore for pure tests. It mirrors the observable
 * behaviour, constraints included (primary and unique keys, foreign keys to
 * apps, CHECKs), because tests written against it must also hold on SQLite.
 *
 * Rows are never mutated in place, only replaced, so a savepoint is a shallow
 * copy of the containers; values are deep-copied in and out so callers cannot
 * reach stored state.
 */
import type {
  AppFilter,
  AppRow,
  AuditRow,
  CommitOptions,
  ControlRow,
  CrashRow,
  GatewayStore,
  MessageFilter,
  MessageRow,
  SeqGapRow,
  SnapshotRow,
  StoreWriter,
} from '../types.js';
import { PENDING_CONTROL, isOverdue, jsonCopy, take } from '../sqlite/rows.js';
import type { BootstrapDeviceRow, BootstrapFilter, BootstrapStatus, ClaimIntentRow } from '../bootstrap-types.js';
import { bootstrapRead } from './memory-bootstrap.js';
import { MemoryWriter, byCreated, cloneState, emptyState, key, newestFirst, seqKey, type State } from './memory-writer.js';

export class MemoryStore implements GatewayStore {
  private s = emptyState();
  private closed = false;
  private readonly writer: StoreWriter = new MemoryWriter(() => this.live());

  /** The state, or the error better-sqlite3 gives once the connection is closed. */
  private live(): State {
    if (this.closed) throw new TypeError('The database connection is not open');
    return this.s;
  }

  /** A savepoint: on a throw the state is put back and the error passed on. */
  private savepoint<T>(fn: () => T): T {
    const saved = cloneState(this.live());
    try {
      const out = fn();
      if (out !== null && typeof (out as { then?: unknown })?.then === 'function') {
        throw new TypeError('Transaction function cannot return a promise');
      }
      return out;
    } catch (e) {
      this.s = saved;
      throw e;
    }
  }

  // Nothing here outlives the process, so a commit is as durable as it gets on return.
  transaction<T>(fn: (w: StoreWriter) => T, _opts?: CommitOptions): T {
    return this.savepoint(() => fn(this.writer));
  }

  batch(ops: ReadonlyArray<(w: StoreWriter) => void>, _opts?: CommitOptions): Array<Error | undefined> {
    if (ops.length === 0) return [];
    return this.savepoint(() =>
      ops.map((op) => {
        try {
          this.savepoint(() => op(this.writer));
          return undefined;
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
  }

  pollDurable(): void {}

  whenFlushIdle(fn: () => void): void {
    fn();
  }

  whenDurable(done: (err?: Error) => void): void {
    done(this.closed ? new TypeError('The database connection is not open') : undefined);
  }

  close(): void {
    this.closed = true;
  }

  getApp(appId: string): AppRow | undefined {
    return jsonCopy(this.live().apps.get(appId)) ?? undefined;
  }

  listApps(filter: AppFilter = {}): AppRow[] {
    const rows = [...this.live().apps.values()].filter(
      (a) =>
        (filter.status === undefined || a.status === filter.status) &&
        (filter.namespace === undefined || a.namespace === filter.namespace) &&
        (filter.parent_id === undefined || a.parent_id === filter.parent_id),
    );
    return jsonCopy(take(rows.sort(byCreated), filter.limit)); // sort is stable: ties keep insertion order
  }

  children(appId: string, recursive = false): AppRow[] {
    const all = [...this.live().apps.values()];
    const out: AppRow[] = [];
    const seen = new Set([appId]);
    let level = [appId];
    while (level.length > 0) {
      const parents = new Set(level);
      // A whole depth level is sorted together, like ORDER BY depth, created_at.
      const next = all.filter((a) => a.parent_id !== null && parents.has(a.parent_id) && !seen.has(a.app_id));
      next.sort(byCreated);
      for (const a of next) seen.add(a.app_id);
      out.push(...next);
      level = recursive ? next.map((a) => a.app_id) : [];
    }
    return jsonCopy(out);
  }

  messages(appId: string, filter: MessageFilter = {}): MessageRow[] {
    const rows = [...this.live().messages.values()].filter(
      (m) => m.app_id === appId && (filter.msg_type === undefined || m.msg_type === filter.msg_type),
    );
    return jsonCopy(take(rows, filter.limit));
  }

  maxSeq(appId: string): number {
    let max = 0;
    for (const m of this.live().messages.values()) if (m.app_id === appId && m.direction === 'in' && m.seq > max) max = m.seq;
    return max;
  }

  messageBySeq(appId: string, seq: number): MessageRow | undefined {
    const s = this.live();
    const id = s.bySeq.get(seqKey({ app_id: appId, direction: 'in', seq }));
    return id === undefined ? undefined : jsonCopy(s.messages.get(id));
  }

  snapshots(appId: string, limit?: number): SnapshotRow[] {
    // As the SQLite view: the app's inbound Status messages, with the app's namespace.
    const st = this.live();
    const namespace = st.apps.get(appId)?.namespace ?? null;
    const rows: SnapshotRow[] = [...st.messages.values()]
      .filter((m) => m.app_id === appId && m.direction === 'in' && m.msg_type === 'Status')
      .map((m) => ({ id: m.id, app_id: m.app_id, namespace, seq: m.seq, snapshot_json: m.payload_json, created_at: m.created_at }));
    return jsonCopy(take(rows.sort(newestFirst((r) => r.created_at)), limit));
  }

  latestSnapshot(appId: string): SnapshotRow | undefined {
    return this.snapshots(appId, 1)[0];
  }

  crashes(filter: { app_id?: string; since?: string; limit?: number } = {}): CrashRow[] {
    const rows = [...this.live().crashes.values()].filter(
      (c) =>
        (filter.app_id === undefined || c.app_id === filter.app_id) &&
        (filter.since === undefined || c.detected_at >= filter.since),
    );
    return jsonCopy(take(rows.sort(newestFirst((c) => c.detected_at)), filter.limit));
  }

  seqGaps(appId: string): SeqGapRow[] {
    const rows = [...this.live().gaps.values()].filter((g) => g.app_id === appId);
    return jsonCopy(rows.sort((a, b) => a.from_seq - b.from_seq));
  }

  getControl(correlationId: string): ControlRow | undefined {
    const c = [...this.live().controls.values()].find((r) => r.correlation_id === correlationId);
    return c && jsonCopy(c);
  }

  pendingControls(appId: string): ControlRow[] {
    const rows = [...this.live().controls.values()];
    return jsonCopy(rows.filter((c) => c.app_id === appId && PENDING_CONTROL.includes(c.status)));
  }

  expiredControls(now: string): ControlRow[] {
    const rows = [...this.live().controls.values()].filter((c) => PENDING_CONTROL.includes(c.status) && c.expires_at <= now);
    rows.sort((a, b) => (a.expires_at < b.expires_at ? -1 : a.expires_at > b.expires_at ? 1 : a.id - b.id));
    return jsonCopy(rows);
  }

  auditLog(filter: { target_app_id?: string; limit?: number } = {}): AuditRow[] {
    const rows = [...this.live().audit.values()].filter(
      (a) => filter.target_app_id === undefined || a.target_app_id === filter.target_app_id,
    );
    return jsonCopy(take(rows.sort(newestFirst((a) => a.timestamp)), filter.limit));
  }

  overdueScheduled(nowMs: number): AppRow[] {
    return jsonCopy([...this.live().apps.values()].filter((a) => isOverdue(a, nowMs)).sort(byCreated));
  }

  getMeta(key: string): string | undefined {
    return this.live().meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.live().meta.set(key, value);
  }

  // ── bootstrap tier (memory-bootstrap.ts) ──
  getBootstrapDevice(childPubKey: string): BootstrapDeviceRow | undefined {
    return bootstrapRead.get(this.live(), childPubKey);
  }

  bootstrapDevicesByMac(mac: string, parentPubKey?: string): BootstrapDeviceRow[] {
    return bootstrapRead.byMac(this.live(), mac, parentPubKey);
  }

  pinnedBootstrapDevice(mac: string, parentPubKey: string): BootstrapDeviceRow | undefined {
    return bootstrapRead.pinned(this.live(), mac, parentPubKey);
  }

  countBootstrapDevices(status: BootstrapStatus): number {
    return bootstrapRead.count(this.live(), status);
  }

  bootstrapDeviceByApp(appId: string): BootstrapDeviceRow | undefined {
    return bootstrapRead.byApp(this.live(), appId);
  }

  listBootstrapDevices(filter?: BootstrapFilter): BootstrapDeviceRow[] {
    return bootstrapRead.list(this.live(), filter);
  }

  getClaimIntent(parentPubKey: string): ClaimIntentRow | undefined {
    return bootstrapRead.intent(this.live(), parentPubKey);
  }
}
