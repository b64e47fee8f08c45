/**
 * The control path (spec §10, §11): the internal interface through which the
 * REST API, the CLI and later issues reach a device. A control is stored
 * first (control_queue), sent now if its app is connected, otherwise when the
 * app returns, and ends answered (the device's control_response), expired, or
 * undeliverable (the app ended first). Every control frame is signed with the
 * gateway key; the device verifies it against serverPubKey.
 */
import { randomUUID } from 'node:crypto';
import type { Timer } from '../ports/clock.js';
import { iso } from '../ports/clock.js';
import { isFinal } from '../core/lifecycle.js';
import type { ControlFrame, ControlResponseFrame, JsonValue } from '../../protocol/frames.js';
import { verifyFrame } from '../crypto/frame-signing.js';
import type { AppStatus, ControlRow, ControlStatus } from '../store/types.js';
import type { ControlsContext } from './hub-context.js';
import { mergeMetadata, plannedDeparture, keyRotation } from './system-actions.js';
import type { ConnState, LiveApp, SignedFrame } from './hub-types.js';

export interface ControlRequest {
  appId: string;
  action: string;
  payload?: JsonValue;
  /** How long the control may wait for its device; the hub default otherwise. */
  ttlMs?: number;
  /** Who asked, for the audit trail: "admin", "app:<uuid>", "system". */
  origin: string;
}

export interface ControlOutcome {
  correlation_id: string;
  app_id: string;
  action: string;
  status: Exclude<ControlStatus, 'queued' | 'sent'>;
  /** The device's answer when status is answered: {ack, result?, error?}. */
  response?: { ack: boolean; result?: JsonValue; error?: string | null };
}

export class ControlError extends Error {
  constructor(readonly code: 'unknown_app' | 'app_terminal' | 'bad_request', message: string) {
    super(message);
  }
}

export class ControlService {
  private readonly waiters = new Map<string, Array<(o: ControlOutcome) => void>>();
  /** Sent but the 'sent' status not yet committed: never transmit twice. */
  private readonly inFlight = new Set<string>();
  /** Answered but the answer not yet committed: a control takes one answer. */
  private readonly answering = new Set<string>();
  /** Expiry written but not yet committed: the next sweep must not write it again. */
  private readonly expiring = new Set<string>();
  private sweep?: Timer;

  constructor(private readonly hub: ControlsContext) {}

  start(): void {
    this.sweep = this.hub.deps.clock.every(1000, () => this.expire());
  }

  stop(): void {
    this.sweep?.cancel();
  }

  /**
   * Queues a control. Resolves `done` when the device answers, the control
   * expires, or its app ends first. Throws ControlError for an unknown or
   * finished app or a malformed request.
   */
  send(req: ControlRequest): { correlationId: string; done: Promise<ControlOutcome> } {
    if (typeof req.action !== 'string' || req.action.length === 0 || req.action.length > 256) {
      throw new ControlError('bad_request', '"action" must be a non-empty string of at most 256 characters');
    }
    const status = this.hub.liveApp(req.appId)?.status ?? this.hub.deps.store.getApp(req.appId)?.status;
    if (!status) throw new ControlError('unknown_app', `no app ${req.appId}`);
    if (isFinal(status)) throw new ControlError('app_terminal', `app ${req.appId} is ${status}`);
    const correlationId = randomUUID();
    const now = this.hub.now();
    const row = {
      app_id: req.appId,
      action: req.action,
      payload_json: req.payload ?? null,
      correlation_id: correlationId,
      status: 'queued' as const,
      origin: req.origin,
      created_at: iso(now),
      expires_at: iso(now + (req.ttlMs ?? this.hub.options.controlTtlMs)),
    };
    const done = this.wait(correlationId);
    this.hub.deps.committer.enqueue(
      (w) => void w.insertControl(row),
      (err) => {
        if (err) return this.settle({ correlation_id: correlationId, app_id: req.appId, action: req.action, status: 'undeliverable' });
        const app = this.hub.liveApp(req.appId);
        if (app) this.deliverPending(app);
      },
    );
    return { correlationId, done };
  }

  /** Resolves when the control with this id settles (also for controls queued before a restart). */
  wait(correlationId: string): Promise<ControlOutcome> {
    return new Promise((resolve) => {
      const list = this.waiters.get(correlationId) ?? [];
      list.push(resolve);
      this.waiters.set(correlationId, list);
    });
  }

  /** Sends every queued control of an app that just (re)registered. */
  deliverPending(app: LiveApp): void {
    const nowIso = this.hub.nowIso();
    for (const c of this.hub.deps.store.pendingControls(app.appId)) {
      if (c.status !== 'queued' || c.expires_at <= nowIso || this.inFlight.has(c.correlation_id)) continue;
      this.transmit(app, c, nowIso);
    }
  }

  onResponse(state: ConnState, f: ControlResponseFrame, raw: SignedFrame): void {
    const ctx = { app_id: f.app_id, correlation_id: f.correlation_id };
    const app = this.hub.liveApp(f.app_id);
    if (!app || app.conn !== state) return this.hub.reject(state, 'not_registered', `app ${f.app_id} is not registered on this connection`, ctx);
    if (app.pubKey && !f.sig) return this.hub.reject(state, 'tier_mismatch', 'this app is signed: the frame must carry "sig"', ctx);
    if (app.pubKey && !verifyFrame(raw, app.pubKey)) return this.hub.reject(state, 'bad_signature', 'control_response signature does not verify', ctx);
    const row = this.hub.deps.store.getControl(f.correlation_id);
    // A control is answered once: a second answer in the same turn finds the row still 'sent', so `answering` holds it.
    if (!row || row.app_id !== f.app_id || (row.status !== 'sent' && row.status !== 'queued') || this.answering.has(row.correlation_id)) {
      return this.hub.reject(state, 'unknown_correlation', `no open control ${f.correlation_id} for app ${f.app_id}`, ctx);
    }
    const response = { ack: f.ack, ...(f.result !== undefined ? { result: f.result } : {}), ...(f.error ? { error: f.error } : {}) };
    const now = this.hub.nowIso();
    // A cancel the device accepted ends the app (spec §12). The live status
    // changes now, so frames that follow in this tick already see it; the app
    // stays bound so its closing disconnect is still accepted.
    const cancels = row.action === 'cancel' && f.ack && !isFinal(app.status);
    if (cancels) app.status = 'cancelled';
    // An acked migrate/provision: the device leaves on purpose; its close is not a crash (system-actions.ts).
    const departs = f.ack && !cancels && !isFinal(app.status) ? plannedDeparture(row, now) : undefined;
    const rotation = f.ack ? keyRotation(row, f.result) : undefined;
    if (departs) app.status = 'lost_contact';
    this.answering.add(row.correlation_id);
    this.hub.deps.committer.enqueue(
      (w) => {
        w.updateControl(row.id, { status: 'answered', acked_at: now, ack_result_json: response });
        if (cancels) w.updateApp(row.app_id, { status: 'cancelled', updated_at: now });
        if (departs) w.updateApp(row.app_id, { status: 'lost_contact', metadata_json: mergeMetadata(this.hub.deps.store.getApp(row.app_id), departs), updated_at: now });
        if (rotation) w.updateApp(row.app_id, { metadata_json: mergeMetadata(this.hub.deps.store.getApp(row.app_id), { key_rotation: rotation }), updated_at: now });
      },
      (err) => {
        this.answering.delete(row.correlation_id);
        if (err) return this.hub.reject(state, 'storage_unavailable', `control response not stored: ${err.message}`, ctx);
        if (cancels) this.emitStatus(row.app_id, 'cancelled', now);
        if (departs) this.emitStatus(row.app_id, 'lost_contact', now);
        this.settle({ correlation_id: row.correlation_id, app_id: row.app_id, action: row.action, status: 'answered', response });
      },
    );
  }

  /**
   * Marks an app cancelled without its device's word: a cascade node that did
   * not answer in time (force_killed), or a queued cancel that expired.
   * `marker` is merged into metadata_json, where it stays queryable. Apps over
   * for good (isFinal) keep their status and resolve false; a crashed one,
   * which might still come back, is cancelled.
   */
  markCancelled(appId: string, marker?: Record<string, JsonValue>): Promise<boolean> {
    const live = this.hub.liveApp(appId);
    const row = this.hub.deps.store.getApp(appId);
    const status = live?.status ?? row?.status;
    if (!row || !status || isFinal(status)) return Promise.resolve(false);
    if (live) live.status = 'cancelled';
    const now = this.hub.nowIso();
    const meta = row.metadata_json !== null && typeof row.metadata_json === 'object' && !Array.isArray(row.metadata_json) ? row.metadata_json : {};
    return new Promise((resolve) => {
      this.hub.deps.committer.enqueue(
        (w) => w.updateApp(appId, { status: 'cancelled', updated_at: now, ...(marker ? { metadata_json: { ...meta, ...marker } } : {}) }),
        (err) => {
          if (!err) this.emitStatus(appId, 'cancelled', now);
          // Cancelled without its word: the device is told, and its session ends here.
          if (!err && live && this.hub.liveApp(appId) === live) this.endSession(live, `app ${appId} was cancelled${marker?.force_killed ? ' (force_killed)' : ''}: its session is over`);
          resolve(!err);
        },
      );
    });
  }

  /**
   * A cancelled app's session is over (spec §12): a data frame it still sends
   * is refused with app_terminal and nothing is stored, the app is unbound, and
   * its socket closes with the final close code when it carries no other app.
   * Its disconnect is still accepted while it is bound, so a device that
   * accepted its cancel can say goodbye.
   */
  refuseEnded(app: LiveApp, ctx: { app_id: string; seq?: number }): void {
    this.endSession(app, `app ${app.appId} is cancelled: its session is over; nothing more is stored`, ctx);
  }

  private endSession(app: LiveApp, message: string, ctx: { app_id: string; seq?: number } = { app_id: app.appId }): void {
    const state = app.conn;
    this.hub.unbind(app);
    this.hub.reject(state, 'app_terminal', message, ctx);
  }

  private transmit(app: LiveApp, c: ControlRow, nowIso: string): void {
    const frame: ControlFrame = this.hub.deps.identity.sign({
      type: 'control' as const,
      app_id: c.app_id,
      action: c.action,
      correlation_id: c.correlation_id,
      payload: c.payload_json,
      issued_at: Date.parse(c.created_at),
      expires_at: Date.parse(c.expires_at),
    });
    this.hub.send(app.conn, frame);
    this.inFlight.add(c.correlation_id);
    this.hub.deps.committer.enqueue(
      (w) => {
        w.updateControl(c.id, { status: 'sent', sent_at: nowIso });
        w.insertMessage({ app_id: c.app_id, direction: 'out', msg_type: 'Control', seq: c.id, correlation_id: c.correlation_id, payload_json: { action: c.action, payload: c.payload_json }, created_at: nowIso });
      },
      () => this.inFlight.delete(c.correlation_id),
    );
  }

  /**
   * Expires overdue controls; those of apps that ended meanwhile are
   * undeliverable. An expired cancel still ends its app: whoever asked for the
   * cancel gave up waiting for the device (spec §12, offline nodes).
   */
  private expire(): void {
    const store = this.hub.deps.store;
    for (const c of store.expiredControls(this.hub.nowIso())) {
      if (this.expiring.has(c.correlation_id)) continue;
      const appStatus = this.hub.liveApp(c.app_id)?.status ?? store.getApp(c.app_id)?.status;
      const status: ControlStatus = appStatus && isFinal(appStatus) ? 'undeliverable' : 'expired';
      this.expiring.add(c.correlation_id);
      this.hub.deps.committer.enqueue(
        (w) => w.updateControl(c.id, { status }),
        (err) => {
          this.expiring.delete(c.correlation_id);
          if (err) return;
          if (c.action === 'cancel' && status === 'expired') void this.markCancelled(c.app_id, { cancel_expired: true });
          this.settle({ correlation_id: c.correlation_id, app_id: c.app_id, action: c.action, status });
        },
      );
    }
  }

  private emitStatus(appId: string, status: AppStatus, at: string): void {
    this.hub.deps.events.emit({ type: 'app_status', ...this.ref(appId), at, status });
  }

  /** parent_id and namespace for events, from the live app or the store. */
  private ref(appId: string): { app_id: string; parent_id: string | null; namespace: string | null } {
    const live = this.hub.liveApp(appId);
    if (live) return { app_id: appId, parent_id: live.parentId, namespace: live.namespace };
    const row = this.hub.deps.store.getApp(appId);
    return { app_id: appId, parent_id: row?.parent_id ?? null, namespace: row?.namespace ?? null };
  }

  private settle(outcome: ControlOutcome): void {
    const list = this.waiters.get(outcome.correlation_id);
    this.waiters.delete(outcome.correlation_id);
    const at = this.hub.nowIso();
    this.hub.deps.events.emit({ type: 'control', ...this.ref(outcome.app_id), at, correlation_id: outcome.correlation_id, action: outcome.action, status: outcome.status, ...(outcome.response ? { result: outcome.response as JsonValue } : {}) });
    for (const resolve of list ?? []) resolve(outcome);
  }
}
