/**
 * Controls from the gateway (spec §10, §11): verify, dispatch to the app's
 * handler, answer with control_response. The vocabulary is open: an action
 * with no handler is answered {ack:false, error:'unknown_action'} and the app
 * carries on. 'cancel' is the one action the client itself understands: it
 * runs the onCancel hook within its grace, answers, and ends the app with a
 * disconnect 'cancelled'.
 *
 * Every control is signed with the gateway key. A control that does not
 * verify against serverPubKey is ignored without an answer: answering would
 * tell a forger what the device does, and the genuine gateway never sends one.
 */
import type { ControlFrame, JsonValue } from '../protocol/frames.js';
import { verifyFrame, type VerifyingKey } from './crypto.js';
import type { ClientEvents, TypedEmitter } from './events.js';
import type { TrailsLogger } from './log.js';
import type { Session } from './session.js';

export interface ControlContext {
  appId: string;
  action: string;
  correlationId: string;
  issuedAt: number;
  expiresAt: number;
}

export interface CancelContext {
  appId: string;
  correlationId: string;
  payload: JsonValue;
  /** How long the hook may take before the client answers and disconnects anyway. */
  graceMs: number;
}

export type ControlHandler = (payload: JsonValue, ctx: ControlContext) => unknown;

/** The answer to a control: what control_response carries. */
export interface ControlAnswer {
  ack: boolean;
  result?: JsonValue;
  error?: string;
}

/**
 * System actions (provision, rotate_keys, migrate; client/system-actions.ts):
 * handled before the app's own handlers, which never see them. `answer` sends
 * the control_response and says whether it went out, so a handler can answer
 * first and act (leave the socket) after.
 */
export interface SystemActionHook {
  handles(action: string): boolean;
  run(f: ControlFrame, answer: (a: ControlAnswer) => boolean): void | Promise<void>;
}
export type CancelHook = (ctx: CancelContext) => unknown;

export interface ControlDeps {
  session: Session;
  events: TypedEmitter<ClientEvents>;
  log: TrailsLogger;
  /** The pinned gateway key, when the config has one. */
  serverKey: VerifyingKey | null;
  /** signed/full: a control that cannot be verified is never acted on. */
  requireSignature: boolean;
  now: () => number;
  /** After a cancel was answered: end the app. */
  onCancelled: () => Promise<void>;
  /** Verifies against the gateway keys in force (key rotation); replaces the serverKey check when set. */
  verify?: (f: ControlFrame) => boolean;
  system?: SystemActionHook;
}

/** Controls may arrive again after a reconnect; remembering recent ids keeps a handler from running twice. */
const SEEN_LIMIT = 1024;
/** Tolerated clock difference before a control counts as expired (a replay of an old signed frame). */
const EXPIRY_SKEW_MS = 300_000;
const MAX_ERROR_CHARS = 1000;

export class ControlDispatcher {
  private readonly handlers = new Map<string, ControlHandler>();
  private readonly seen = new Set<string>();
  private cancelHook: CancelHook | null = null;
  /** Used when the hook comes from on('cancel') rather than onCancel(). */
  private cancelGraceMs = 5_000;
  private cancelling = false;

  constructor(private readonly d: ControlDeps) {}

  on(action: string, handler: ControlHandler): void {
    this.handlers.set(action, handler);
  }

  off(action: string): void {
    this.handlers.delete(action);
  }

  onCancel(graceMs: number, hook: CancelHook): void {
    this.cancelGraceMs = Math.max(0, graceMs);
    this.cancelHook = hook;
  }

  handle(f: ControlFrame): void {
    const why = this.rejectReason(f);
    if (why) {
      this.d.log.warn(`control ignored: ${why}`, { appId: this.d.session.appId, action: f.action, correlationId: f.correlation_id });
      this.emit(f, 'ignored', { error: why });
      return;
    }
    remember(this.seen, f.correlation_id);
    const run = f.action === 'cancel' ? this.cancel(f) : this.d.system?.handles(f.action) ? this.runSystem(f) : this.dispatch(f);
    void run.catch((err) => {
      this.d.log.error('control handling failed', { action: f.action, err: String(err) });
    });
  }

  private rejectReason(f: ControlFrame): string | undefined {
    if (typeof f.action !== 'string' || typeof f.correlation_id !== 'string') return 'malformed control frame';
    if (this.d.verify) {
      if (!this.d.verify(f)) return 'signature does not verify against the gateway keys in force';
    } else if (this.d.serverKey) {
      if (!verifyFrame(f, this.d.serverKey)) return 'signature does not verify against serverPubKey';
    } else if (this.d.requireSignature) {
      return 'no serverPubKey to verify it against';
    }
    if (this.seen.has(f.correlation_id)) return 'already handled (replay?)';
    if (typeof f.expires_at === 'number' && f.expires_at + EXPIRY_SKEW_MS < this.d.now()) return 'expired';
    return undefined;
  }

  private async dispatch(f: ControlFrame): Promise<void> {
    const handler = this.handlers.get(f.action);
    if (!handler) {
      this.d.log.warn(`no handler for control action "${f.action}"`, { appId: this.d.session.appId });
      this.d.session.sendControlResponse({ correlation_id: f.correlation_id, ack: false, error: 'unknown_action', action: f.action });
      return this.emit(f, 'unknown_action', { error: 'unknown_action' });
    }
    const ctx: ControlContext = { appId: this.d.session.appId, action: f.action, correlationId: f.correlation_id, issuedAt: f.issued_at, expiresAt: f.expires_at };
    let result: JsonValue;
    try {
      result = toJson(await handler(f.payload, ctx));
    } catch (err) {
      const error = errorText(err);
      this.d.session.sendControlResponse({ correlation_id: f.correlation_id, ack: false, error });
      return this.emit(f, 'failed', { error });
    }
    this.d.session.sendControlResponse({ correlation_id: f.correlation_id, ack: true, result });
    this.emit(f, 'answered', { result });
  }

  private async runSystem(f: ControlFrame): Promise<void> {
    await this.d.system!.run(f, (a) => {
      const sent = this.d.session.sendControlResponse({ correlation_id: f.correlation_id, ...a });
      this.emit(f, a.ack ? 'answered' : 'failed', a.ack ? { result: a.result ?? null } : { error: a.error ?? 'refused' });
      return sent;
    });
  }

  private async cancel(f: ControlFrame): Promise<void> {
    if (this.cancelling) return;
    this.cancelling = true;
    const hook = this.cancelHook ?? wrapHandler(this.handlers.get('cancel'));
    if (hook) {
      const ctx: CancelContext = { appId: this.d.session.appId, correlationId: f.correlation_id, payload: f.payload, graceMs: this.cancelGraceMs };
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.cancelGraceMs)));
      try {
        await Promise.race([Promise.resolve().then(() => hook(ctx)), grace]);
      } catch (err) {
        this.d.log.warn('onCancel hook failed; cancelling anyway', { err: errorText(err) });
      } finally {
        clearTimeout(timer);
      }
    }
    const result = { cancelled: true };
    this.d.session.sendControlResponse({ correlation_id: f.correlation_id, ack: true, result });
    this.emit(f, 'answered', { result });
    await this.d.onCancelled();
  }

  private emit(f: ControlFrame, outcome: ClientEvents['control']['outcome'], extra: { result?: JsonValue; error?: string }): void {
    this.d.events.emit('control', { appId: this.d.session.appId, action: f.action, correlationId: f.correlation_id, payload: f.payload ?? null, outcome, ...extra });
  }
}

/** Normalises a value to plain JSON (toJSON applied, undefined members gone). Throws when it cannot be. */
export function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  const text = JSON.stringify(v);
  if (text === undefined) throw new TypeError('value is not JSON (a function or a symbol)');
  return JSON.parse(text) as JsonValue;
}

function wrapHandler(h: ControlHandler | undefined): CancelHook | null {
  return h ? (ctx) => h(ctx.payload, { appId: ctx.appId, action: 'cancel', correlationId: ctx.correlationId, issuedAt: 0, expiresAt: 0 }) : null;
}

function errorText(err: unknown): string {
  const s = err instanceof Error ? err.message || err.name : String(err);
  return s.length > MAX_ERROR_CHARS ? `${s.slice(0, MAX_ERROR_CHARS - 3)}...` : s;
}

function remember(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > SEEN_LIMIT) set.delete(set.values().next().value as string);
}
