/**
 * The device hub: owns the live connections and apps, turns client frames
 * into store writes and server frames. All I/O is injected (store through the
 * group committer, clock, connections), so the whole protocol runs in tests
 * with in-memory twins.
 *
 * Sessions are keyed by connection, never by app_id alone: an old socket that
 * closes after its app re_registered elsewhere must not mark the app crashed
 * (a defect of the reference server).
 */
import type { Timer } from '../ports/clock.js';
import { iso } from '../ports/clock.js';
import { TokenBucket } from '../core/rate-limit.js';
import { RefusalPacer } from '../core/refusal-pacer.js';
import { parseClientFrame } from '../../protocol/parse.js';
import type { ClientFrame, ErrorCode, ServerFrame } from '../../protocol/frames.js';
import { CloseCode, FINAL_REFUSALS } from '../../protocol/frames.js';
import type { NewAudit } from '../store/types.js';
import type { Connection } from './connection.js';
import type { ConnState, HubOptions, LiveApp, PendingFrame, SignedFrame } from './hub-types.js';
import { decodeSignature } from '../../protocol/keys.js';
import { signingInputOf } from '../crypto/frame-signing.js';
import { DEFAULT_HUB_OPTIONS } from './hub-types.js';
import type { HubContext, HubDeps, HubStats, RefusalContext } from './hub-context.js';
import { RegistrationHandler } from './registration.js';
import { DataHandler } from './data.js';
import { ControlService } from './controls.js';
import { LifecycleSweeper } from './lifecycle-sweeper.js';
import { BootstrapService } from './bootstrap.js';
import { ProvisionDelivery } from './provisioning.js';

export type { HubDeps, HubStats };

export class DeviceHub implements HubContext {
  private isoAt = Number.NaN;
  private isoText = '';
  readonly options: HubOptions;
  readonly controls: ControlService;
  /** First contact and claims of factory-fresh devices (bootstrap.ts). */
  readonly bootstrap: BootstrapService;
  readonly stats: HubStats = { connections: 0, liveApps: 0, framesIn: 0, rejected: 0, sealedRefused: 0, internalErrors: 0 };
  private readonly conns = new Map<number, ConnState>();
  private readonly live = new Map<string, LiveApp>();
  private readonly registration: RegistrationHandler;
  private readonly data: DataHandler;
  private readonly sweeper: LifecycleSweeper;
  /** Final refusals per address and app, to slow clients that ignore final close codes. */
  private readonly refusals = new RefusalPacer();
  private stopping = false;
  private lastSeqSync?: Timer;

  constructor(readonly deps: HubDeps) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...deps.options };
    this.controls = new ControlService(this);
    this.registration = new RegistrationHandler(this);
    this.data = new DataHandler(this);
    this.sweeper = new LifecycleSweeper(this);
    this.bootstrap = new BootstrapService(this, (stats, linkOf) => new ProvisionDelivery(this, stats, linkOf));
  }

  /** Restart half of spec §19, deadline and expiry sweeps. */
  start(): void {
    this.sweeper.start();
    this.controls.start();
    this.bootstrap.start();
    this.lastSeqSync = this.deps.clock.every(5000, () => this.data.syncLastSeq(this.live.values()));
  }

  /**
   * Graceful stop: apps keep their live status, so the next start marks them
   * reconnecting instead of crashed; sockets close with 1012.
   */
  stop(): void {
    this.stopping = true;
    this.sweeper.stop();
    this.controls.stop();
    this.bootstrap.stop();
    this.lastSeqSync?.cancel();
    this.data.syncLastSeq(this.live.values());
    for (const c of this.conns.values()) c.conn.close(CloseCode.serviceRestart, 'gateway restarting');
    this.deps.committer.flush();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  // ── transport callbacks ───────────────────────────────────────────

  // Every entry point is guarded: an exception while handling one
  // socket's event refuses that frame (internal_error) or closes that socket
  // (1011, when it is not yet set up), and the hub goes on serving the rest.

  onOpen(conn: Connection): void {
    try {
      this.open(conn);
    } catch (e) {
      this.failed(conn, 'open', e);
    }
  }

  // try/catch written out in each (no closure per frame on the hot path).
  onText(conn: Connection, text: string): void {
    try {
      this.text(conn, text);
    } catch (e) {
      this.failed(conn, 'text frame', e);
    }
  }

  onBinary(conn: Connection, data: Uint8Array = new Uint8Array()): void {
    try {
      this.binary(conn, data);
    } catch (e) {
      this.failed(conn, 'binary frame', e);
    }
  }

  onClose(conn: Connection, reason: 'closed' | 'heartbeat' = 'closed'): void {
    try {
      this.close(conn, reason);
    } catch (e) {
      this.failed(conn, 'close', e);
    }
  }

  /** One log line, then an answer to this socket only; never throws. */
  private failed(conn: Connection, event: string, e: unknown): void {
    this.stats.internalErrors++;
    try {
      this.deps.log?.('error', `hub: handling a ${event} of connection ${conn.id} failed; refused`, { err: e instanceof Error ? e.message : String(e) });
      const state = this.conns.get(conn.id);
      if (!state) return conn.close(CloseCode.internalError, 'internal error');
      if (state.closed) return;
      this.stats.rejected++;
      state.errors++;
      this.send(state, { type: 'error', code: 'internal_error', message: 'the gateway failed while handling this frame and refused it; it has been logged' });
      if (state.errors > this.options.maxErrors) conn.close(CloseCode.tooManyErrors, 'too many protocol errors');
    } catch {
      /* the socket itself is failing: its close event ends it */
    }
  }

  private open(conn: Connection): void {
    const o = this.options;
    const state: ConnState = {
      conn,
      apps: new Set(),
      bucket: new TokenBucket(o.rate, o.burst, this.deps.clock.now()),
      errors: 0,
      rateLimited: 0,
      closed: false,
      inbox: [],
    };
    this.armRegistrationTimer(state);
    this.conns.set(conn.id, state);
    this.stats.connections = this.conns.size;
  }

  private text(conn: Connection, text: string): void {
    const state = this.admit(conn);
    if (!state) return;
    if (state.sealedApp) return this.reject(state, 'tier_mismatch', 'this connection carries an encrypted app: send sealed binary frames');
    this.handle(state, text, false);
  }

  /** A sealed frame of the encrypted tier: opened with the session's channel, then handled like text. */
  private binary(conn: Connection, data: Uint8Array): void {
    const state = this.admit(conn);
    if (!state) return;
    const app = this.sealedAppOf(state);
    if (!app?.sealed) return this.reject(state, 'bad_frame', 'binary frames are only for a registered encrypted-tier app; send JSON text');
    const opened = app.sealed.open(data);
    if (!opened.ok) {
      this.stats.sealedRefused++;
      return this.reject(state, 'sealed_refused', `sealed frame refused: ${opened.reason}`, { app_id: app.appId });
    }
    this.handle(state, opened.plaintext.toString('utf8'), true);
  }

  /** The socket is gone. `reason` tells a dead peer (heartbeat) from a plain close. */
  private close(conn: Connection, reason: 'closed' | 'heartbeat'): void {
    const state = this.conns.get(conn.id);
    if (!state) return;
    state.closed = true;
    state.regTimer?.cancel();
    this.conns.delete(conn.id);
    this.stats.connections = this.conns.size;
    for (const appId of state.apps) {
      const app = this.live.get(appId);
      if (!app || app.conn !== state) continue;
      this.unbind(app);
      if (!this.stopping) this.registration.markCrashed(app, reason === 'heartbeat' ? 'heartbeat_timeout' : 'connection_drop');
    }
  }

  /** A socket must carry an app within the registration timeout (4001), at first and again after a refused registration. */
  private armRegistrationTimer(state: ConnState): void {
    state.regTimer?.cancel();
    state.regTimer = this.deps.clock.after(this.options.registrationTimeoutMs, () => {
      if (state.apps.size === 0 && !state.closed && !state.bootstrap) state.conn.close(CloseCode.registrationTimeout, 'no registration in time');
    });
  }

  // ── shared by the handlers (their narrow views: hub-context.ts) ───

  liveApp(appId: string): LiveApp | undefined {
    return this.live.get(appId);
  }

  bind(app: LiveApp): void {
    const previous = this.live.get(app.appId);
    if (previous && previous.conn !== app.conn) previous.conn.apps.delete(app.appId);
    this.live.set(app.appId, app);
    app.conn.apps.add(app.appId);
    app.conn.regTimer?.cancel();
    this.stats.liveApps = this.live.size;
  }

  unbind(app: LiveApp): void {
    app.conn.apps.delete(app.appId);
    if (this.live.get(app.appId) === app) this.live.delete(app.appId);
    this.stats.liveApps = this.live.size;
    // The session ended (closed, crashed, finished): apps.last_seq is brought up to date now, not at the next sync.
    this.data.syncLastSeq([app]);
  }

  /** Closes the socket once no app is left on it (the reference closes after Result/Error). */
  closeIfIdle(state: ConnState, reason: string): void {
    if (state.apps.size === 0 && !state.closed) state.conn.close(CloseCode.normal, reason);
  }

  send(state: ConnState, frame: ServerFrame): void {
    if (state.closed) return;
    const sealed = frame.type !== 'registered' ? this.sealedAppOf(state)?.sealed : undefined;
    if (sealed) state.conn.sendBinary(sealed.seal(Buffer.from(JSON.stringify(frame), 'utf8')));
    else state.conn.send(frame);
  }

  /**
   * Answers a refused frame with an error frame. A refusal of an app that
   * retrying will not change (FINAL_REFUSALS) on a socket left carrying no
   * app also closes the socket with that refusal's final close code (4400–4499),
   * the refused app named in the reason, so a well-behaved client stops. A
   * client that comes back anyway waits longer for each repeat (refusal-pacer.ts).
   */
  reject(state: ConnState, code: ErrorCode, message: string, ctx: RefusalContext = {}): void {
    this.stats.rejected++;
    const frame: ServerFrame = { type: 'error', code, message, ...ctx };
    if (code === 'storage_unavailable') {
      // The gateway's fault, not the device's: it does not count toward 4002. A
      // socket left with no app (its registration refused) gets the timeout again.
      this.send(state, frame);
      if (state.apps.size === 0 && !state.closed) this.armRegistrationTimer(state);
      return;
    }
    state.errors++;
    const finalClose = FINAL_REFUSALS[code];
    if (finalClose && ctx.app_id && state.apps.size === 0 && !state.bootstrap) {
      const answer = (): void => {
        this.send(state, frame);
        if (state.apps.size === 0 && !state.closed) state.conn.close(finalClose, `${code} ${ctx.app_id}`.slice(0, 120));
      };
      const hold = this.refusals.delay(state.conn.remote, ctx.app_id, this.now());
      return void (hold > 0 ? this.after(hold, answer) : answer());
    }
    this.send(state, frame);
    if (state.errors > this.options.maxErrors) state.conn.close(CloseCode.tooManyErrors, 'too many protocol errors');
  }

  /** The audit row of a device refused for a key it could not prove; `subject` tells repeats apart (device-refusals.ts). */
  auditRefusal(row: NewAudit, subject: string): void {
    const audit = this.deps.deviceAudit;
    if (audit) audit.record(row, subject);
    else this.deps.committer.enqueue((w) => w.insertAudit(row));
  }

  now(): number {
    return this.deps.clock.now();
  }

  /** Every frame stamps its row; frames of one millisecond share the string. */
  nowIso(): string {
    const ms = this.deps.clock.now();
    if (ms !== this.isoAt) {
      this.isoAt = ms;
      this.isoText = iso(ms);
    }
    return this.isoText;
  }

  after(ms: number, fn: () => void): Timer {
    return this.deps.clock.after(ms, fn);
  }

  // ── internals ─────────────────────────────────────────────────────

  /** The encrypted app of this connection, while it is still bound here (not taken over by a newer socket). */
  private sealedAppOf(state: ConnState): LiveApp | undefined {
    const app = state.sealedApp ? this.live.get(state.sealedApp) : undefined;
    return app && app.conn === state ? app : undefined;
  }

  private admit(conn: Connection): ConnState | undefined {
    const state = this.conns.get(conn.id);
    if (!state || state.closed) return undefined;
    this.stats.framesIn++;
    if (!state.bucket.take(this.deps.clock.now())) return void this.onRateLimited(state);
    state.rateLimited = 0;
    return state;
  }

  private handle(state: ConnState, text: string, sealed: boolean): void {
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return this.reject(state, parsed.code, parsed.message, parsed.app_id ? { app_id: parsed.app_id } : {});
    const f = parsed.frame;
    if (sealed && (f.type === 'register' || f.type === 're_register' || f.app_id !== state.sealedApp)) {
      return this.reject(state, 'bad_frame', 'a sealed frame carries only the data frames of the sealed app', { app_id: f.app_id });
    }
    const pending: PendingFrame = { frame: f, raw: parsed.raw, verdict: 'sync' };
    this.verifyAside(state, pending);
    if (state.inbox.length === 0 && pending.verdict === 'sync') return this.dispatch(state, f, parsed.raw, false);
    state.inbox.push(pending);
    this.drain(state);
  }

  /**
   * A signed message of a bound app goes to the verify workers; the frames
   * behind it on this connection wait in its inbox, so the order in which a
   * device sent its frames is the order in which they are handled.
   */
  private verifyAside(state: ConnState, p: PendingFrame): void {
    const verifier = this.deps.verifier;
    if (!verifier || p.frame.type !== 'message') return;
    const app = this.live.get(p.frame.app_id);
    const sig = decodeSignature(p.raw.sig);
    if (!app || app.conn !== state || !app.pubKeyRaw || !sig) return;
    // No canonical form: left 'sync', the inline check refuses it as bad_signature.
    const input = signingInputOf(p.raw);
    if (!input) return;
    p.verdict = 'pending';
    verifier.check(input, sig, app.pubKeyRaw, (ok) => {
      p.verdict = ok ? 'valid' : 'invalid';
      try {
        this.drain(state);
      } catch (e) {
        this.failed(state.conn, 'verified frame', e);
      }
    });
  }

  private drain(state: ConnState): void {
    while (state.inbox.length > 0 && state.inbox[0]!.verdict !== 'pending') {
      const p = state.inbox.shift()!;
      if (state.closed) continue;
      if (p.verdict === 'invalid') {
        const seq = p.frame.type === 'message' ? p.frame.header.seq : undefined;
        this.reject(state, 'bad_signature', 'signature does not verify', { app_id: p.frame.app_id, ...(seq ? { seq } : {}) });
        continue;
      }
      this.dispatch(state, p.frame, p.raw, p.verdict === 'valid');
    }
  }

  private dispatch(state: ConnState, frame: ClientFrame, raw: SignedFrame, verified: boolean): void {
    // A socket that made first contact carries a device key and no app: all its frames are the bootstrap tier's.
    if (state.bootstrap || frame.type === 'bootstrap_register') return this.bootstrap.onFrame(state, frame, raw);
    if ((frame.type === 'register' || frame.type === 're_register') && this.overAppCap(state, frame.app_id)) return;
    switch (frame.type) {
      case 'register':
        return this.registration.register(state, frame, raw);
      case 're_register':
        return this.registration.reRegister(state, frame, raw);
      case 'message':
        return this.data.message(state, frame, raw, verified);
      case 'disconnect':
        return this.registration.disconnect(state, frame, raw);
      case 'control_response':
        return this.controls.onResponse(state, frame, raw);
    }
  }

  /**
   * A register or re_register that would bind one more app to a connection
   * already carrying maxAppsPerConnection is refused before anything is
   * decided or stored: one socket must not hold thousands of apps (and its
   * close then write as many crash rows). An app already on it may register again.
   */
  private overAppCap(state: ConnState, appId: string): boolean {
    const max = this.options.maxAppsPerConnection;
    if (state.apps.size < max || state.apps.has(appId)) return false;
    this.reject(state, 'too_many_apps', `this connection carries ${max} apps, the gateway's --max-apps-per-connection; open another connection for more`, { app_id: appId });
    return true;
  }

  private onRateLimited(state: ConnState): void {
    state.rateLimited++;
    this.stats.rejected++;
    // One error frame per burst of drops: answering every dropped frame
    // would let a flood turn the gateway into an amplifier.
    if (state.rateLimited === 1) {
      this.send(state, { type: 'error', code: 'rate_limited', message: `over ${this.options.rate} frames/s; frames are being dropped` });
    }
    if (state.rateLimited > this.options.maxRateLimited) state.conn.close(CloseCode.rateLimited, 'rate limit exceeded');
  }
}
