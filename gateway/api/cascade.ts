/**
 * Cancel, alone or cascading (spec §12). The subtree is resolved from the
 * store, then cancelled bottom-up: the deepest level first, every node of a
 * level at once, and the next level up only when each node of this one has
 * answered or its grace period ran out, so children clean up before their
 * parents. A connected node that accepts becomes cancelled (the hub does that
 * when the answer arrives); one that stays silent or refuses is force_killed,
 * recorded as status cancelled with metadata_json.force_killed = true (the
 * reference status CHECK has no force_killed, see docs/API.md). An offline
 * node (reconnecting, lost_contact, or crashed, which may still
 * return) gets the cancel queued: it is delivered when the node returns, and
 * the node is marked cancelled if the cancel expires first. A declared child
 * that never started (scheduled) is cancelled at once: there is no process to
 * tell, and its start deadline must not later turn it into a start_failed.
 */
import { isFinal } from '../core/lifecycle.js';
import type { ControlOutcome } from '../device/controls.js';
import { ControlError } from '../device/controls.js';
import type { DeviceHub } from '../device/hub.js';
import type { JsonValue } from '../../protocol/frames.js';
import type { AppRow, AppStatus } from '../store/types.js';

export type NodeOutcome = 'cancelled' | 'force_killed' | 'queued' | 'already_terminal';

export interface NodeReport {
  app_id: string;
  app_name: string;
  depth: number;
  outcome: NodeOutcome;
  /** From the node's cancel being sent to its outcome. */
  ms: number;
  status?: AppStatus;
  correlation_id?: string;
  response?: JsonValue;
}

export interface CascadeReport {
  root_app_id: string;
  cascade: boolean;
  grace_seconds: number;
  ms: number;
  counts: Record<NodeOutcome, number>;
  nodes: NodeReport[];
}

export interface CancelRequest {
  rootId: string;
  cascade: boolean;
  graceMs: number;
  reason: string;
  /** "admin" or "app:<uuid>", for the payload and control_queue.origin. */
  initiatedBy: string;
}

interface Member {
  row: AppRow;
  depth: number;
}

const LIVE: readonly AppStatus[] = ['connected', 'running'];

export class CascadeCanceller {
  constructor(private readonly hub: DeviceHub) {}

  async run(req: CancelRequest): Promise<CascadeReport> {
    const started = this.hub.now();
    const levels = this.levels(req);
    const nodes: NodeReport[] = [];
    for (const level of levels) nodes.push(...(await Promise.all(level.map((m) => this.cancelNode(m, req)))));
    const counts: Record<NodeOutcome, number> = { cancelled: 0, force_killed: 0, queued: 0, already_terminal: 0 };
    for (const n of nodes) counts[n.outcome]++;
    return { root_app_id: req.rootId, cascade: req.cascade, grace_seconds: req.graceMs / 1000, ms: this.hub.now() - started, counts, nodes };
  }

  /** The subtree grouped by depth, deepest level first. Terminal nodes stay in: the report lists them. */
  private levels(req: CancelRequest): Member[][] {
    const store = this.hub.deps.store;
    const root = store.getApp(req.rootId);
    if (!root) return [];
    const depth = new Map<string, number>([[root.app_id, 0]]);
    const members: Member[] = [{ row: root, depth: 0 }];
    // children() is breadth-first, so a parent's depth is known before its children's.
    for (const row of req.cascade ? store.children(req.rootId, true) : []) {
      const d = (depth.get(row.parent_id ?? '') ?? 0) + 1;
      depth.set(row.app_id, d);
      members.push({ row, depth: d });
    }
    const byDepth: Member[][] = [];
    for (const m of members) (byDepth[m.depth] ??= []).push(m);
    return byDepth.filter(Boolean).reverse();
  }

  private async cancelNode(m: Member, req: CancelRequest): Promise<NodeReport> {
    const t0 = this.hub.now();
    const base = { app_id: m.row.app_id, app_name: m.row.app_name, depth: m.depth };
    const report = (outcome: NodeOutcome, extra: Partial<NodeReport> = {}): NodeReport => ({
      ...base, outcome, ms: this.hub.now() - t0, status: this.statusOf(m.row.app_id) ?? m.row.status, ...extra,
    });
    let status = this.statusOf(m.row.app_id);
    if (!status || isFinal(status)) return report('already_terminal');
    if (status === 'scheduled') {
      if (await this.cancelUnstarted(m.row)) return report('cancelled');
      // It started meanwhile: cancelled like any other node, from its status now.
      status = this.statusOf(m.row.app_id);
      if (!status || isFinal(status)) return report('already_terminal');
    }
    const payload = { reason: req.reason, cascade: req.cascade, initiated_by: req.initiatedBy, grace_seconds: req.graceMs / 1000 };
    let sent: { correlationId: string; done: Promise<ControlOutcome> };
    try {
      sent = this.hub.controls.send({ appId: m.row.app_id, action: 'cancel', payload, origin: req.initiatedBy });
    } catch (e) {
      if (e instanceof ControlError && e.code === 'app_terminal') return report('already_terminal');
      throw e;
    }
    const corr = { correlation_id: sent.correlationId };
    const live = this.hub.liveApp(m.row.app_id);
    if (!live || !LIVE.includes(status)) return report('queued', corr);
    const outcome = await this.withinGrace(sent.done, req.graceMs);
    if (outcome?.status === 'answered' && outcome.response?.ack) return report('cancelled', { ...corr, response: outcome.response as JsonValue });
    if (outcome?.status === 'undeliverable') return report('already_terminal', corr);
    await this.hub.controls.markCancelled(m.row.app_id, { force_killed: true, force_killed_at: new Date(this.hub.now()).toISOString() });
    return report('force_killed', { ...corr, ...(outcome?.response ? { response: outcome.response as JsonValue } : {}) });
  }

  /**
   * A declared child that never started has nothing to tell: it is cancelled
   * at once (no control, no crash, no deadline left to run out). Checked
   * inside the write, since the child may have registered since; then it is
   * cancelled like any live node (false).
   */
  private cancelUnstarted(row: AppRow): Promise<boolean> {
    const { store, committer, events } = this.hub.deps;
    const now = this.hub.nowIso();
    let cancelled = false;
    return new Promise((resolve) => {
      committer.enqueue(
        (w) => {
          const current = store.getApp(row.app_id);
          cancelled = current?.status === 'scheduled' && !this.hub.liveApp(row.app_id);
          if (cancelled) w.updateApp(row.app_id, { status: 'cancelled', metadata_json: { ...asObject(current!.metadata_json), cancelled_before_start: true }, updated_at: now });
        },
        (err) => {
          if (!err && cancelled) events.emit({ type: 'app_status', app_id: row.app_id, parent_id: row.parent_id, namespace: row.namespace, at: now, status: 'cancelled' });
          resolve(!err && cancelled);
        },
      );
    });
  }

  /** The outcome if it arrives within the grace period, else undefined. The control itself stays open. */
  private withinGrace(done: Promise<ControlOutcome>, graceMs: number): Promise<ControlOutcome | undefined> {
    return new Promise((resolve) => {
      const timer = this.hub.after(graceMs, () => resolve(undefined));
      void done.then((o) => {
        timer.cancel();
        resolve(o);
      });
    });
  }

  private statusOf(appId: string): AppStatus | undefined {
    return this.hub.liveApp(appId)?.status ?? this.hub.deps.store.getApp(appId)?.status;
  }
}

function asObject(v: JsonValue | null): Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
