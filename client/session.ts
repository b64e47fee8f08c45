/**
 * One identity's side of the protocol: registration, numbering, the outbox
 * and its acks, and what each gateway error means for it. The connection
 * carries the bytes; the TrailsClient facade turns user calls into enqueue()
 * and answers controls through sendControlResponse().
 *
 * Rules that shape this file:
 *  - A message is sent only while registered, at most `window` unacked at a
 *    time (so a long outage does not turn into a burst the gateway's rate
 *    limit drops), and leaves the outbox only on its ack.
 *  - Each (re)registration re-sends every unacked message with its original
 *    seq and bytes; the gateway acks a stored seq again and stores it once.
 *  - The first socket sends register, later ones re_register; a gateway that
 *    does not know the app (registration_failed) gets register instead.
 *  - Nothing here throws into the host: faults become log lines and events.
 */
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import type { AckFrame, ControlFrame, ErrorCode, ErrorFrame, JsonValue, MsgType, ProcessInfo, RegisteredFrame, ServerFrame } from '../protocol/frames.js';
import { CloseCode, isFinalClose } from '../protocol/frames.js';
import { encodePublicKey } from '../protocol/keys.js';
import { clientCrypto, signFrame, verifyFrame, type SigningKey, type VerifyingKey } from './crypto.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { TrailsConfig } from './config.js';
import type { ConnectionMember, TrailsConnection } from './connection.js';
import type { ClientEvents, ClientState, TypedEmitter } from './events.js';
import type { TrailsLogger } from './log.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import type { SealedLink } from './sealed-link.js';

export interface SessionDeps {
  config: TrailsConfig;
  keyPair: Ed25519KeyPair;
  connection: TrailsConnection;
  events: TypedEmitter<ClientEvents>;
  log: TrailsLogger;
  random: () => number;
  backoff: BackoffOptions;
  outboxCapacity: number;
  window: number;
  maxFrameBytes: number;
  processInfo: ProcessInfo;
  now: () => number;
  onControl: (f: ControlFrame) => void;
  /** The pinned gateway key (serverPubKey), when the config has one. */
  serverKey: VerifyingKey | null;
  /** Encrypted tier: the handshake and sealing under this session's transport. */
  sealed?: SealedLink;
  /** Device lifecycle (client/bootstrap.ts): a new session for an app that already sent messages continues their numbering. */
  startSeq?: number;
  /** Open with re_register (the app is known to this gateway), not register. */
  resume?: boolean;
  /** Verifies `registered` against the gateway keys in force during a key rotation; replaces the serverKey check. */
  verifyServer?: (f: object) => boolean;
}

type RegKind = 'register' | 're_register';

/** Refusals worth another try later on the same socket; every other refusal of a registration is final. */
// internal_error: the gateway failed on that one frame (a defect it logged); a later try may pass.
const RETRYABLE: readonly ErrorCode[] = ['storage_unavailable', 'internal_error', 'stale_timestamp', 'unknown_parent', 'rate_limited'];

export class Session implements ConnectionMember {
  readonly appId: string;
  readonly publicKeyText: string;
  readonly outbox: Outbox;
  private readonly key: SigningKey | null;
  private _state: ClientState = 'connecting';
  private everRegistered = false;
  private lastRegSent: RegKind | null = null;
  private seqCounter = 0;
  private lastAuthTs = 0;
  private terminalQueued = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAttempt = 0;
  private paused = false;
  private endedWhy = '';
  /** The log has said that messages after the end are refused (it says so once). */
  private refusedAfterEnd = false;
  /** Messages still unacked when the session ended: a later flush() must not report success. */
  private lostAtEnd = 0;
  /** flush()/shutdown() waiters; the flag asks for "registered" as well as "drained". */
  private readonly drainWaiters = new Map<(ok: boolean) => void, boolean>();

  constructor(private readonly d: SessionDeps) {
    this.appId = d.config.appId;
    this.publicKeyText = encodePublicKey(d.keyPair.publicKey);
    // The open tier never signs, so it never needs the private key object.
    this.key = d.config.secLevel === 'open' ? null : clientCrypto.ed25519.signingKey(d.keyPair.secretKey);
    this.outbox = new Outbox(d.outboxCapacity);
    this.seqCounter = d.startSeq ?? 0;
    this.everRegistered = d.resume ?? false;
  }

  get state(): ClientState {
    return this._state;
  }

  get seq(): number {
    return this.seqCounter;
  }

  get isReady(): boolean {
    return this._state === 'ready' && this.d.connection.isOpen;
  }

  get ended(): boolean {
    return this._state === 'finished' || this._state === 'failed';
  }

  start(): void {
    this.d.connection.attach(this);
  }

  // ── data path ─────────────────────────────────────────────────────

  /** Numbers, signs and queues a message. False when it was dropped (logged, 'dropped' emitted). */
  enqueue(msgType: MsgType, payload: JsonValue): boolean {
    if (this.ended) return this.refuseAfterEnd(msgType);
    if (this.terminalQueued) return this.drop(null, msgType, 'a Result or Error was already sent; it ends the app');
    const seq = this.seqCounter + 1;
    const frame = { type: 'message' as const, app_id: this.appId, header: { msg_type: msgType, timestamp: this.d.now(), seq, correlation_id: null }, payload, sig: null };
    const text = JSON.stringify(this.key ? signFrame(frame, this.key) : frame);
    if (Buffer.byteLength(text) > this.d.maxFrameBytes) {
      // Sending it would make the gateway close the socket (1009) on every reconnect.
      return this.drop(null, msgType, `frame of ${Buffer.byteLength(text)} bytes exceeds maxFrameBytes ${this.d.maxFrameBytes}`);
    }
    const entry: OutboxEntry = { seq, msgType, text };
    const dropped = this.outbox.push(entry);
    if (dropped === entry) return this.drop(null, msgType, `outbox full (${this.outbox.capacity}) of Result/Error`);
    this.seqCounter = seq;
    if (msgType !== 'Status') this.terminalQueued = true;
    if (dropped) this.drop(dropped.seq, dropped.msgType, `outbox full (${this.outbox.capacity}); oldest Status dropped`);
    this.pump();
    return true;
  }

  /**
   * Resolves true once every queued message is acked (and, with `needReady`,
   * the app is registered: shutdown wants that so its disconnect can go out);
   * false on timeout, or if the app ends first with messages pending.
   */
  whenDrained(timeoutMs: number, needReady = false): Promise<boolean> {
    if (this.ended) return Promise.resolve(this.lostAtEnd === 0);
    if (this.drained(needReady)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(done);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.drainWaiters.set(done, needReady);
    });
  }

  private drained(needReady: boolean): boolean {
    return this.outbox.size === 0 && (!needReady || this.isReady);
  }

  // ── control-plane frames out ──────────────────────────────────────

  sendControlResponse(body: { correlation_id: string; ack: boolean; result?: JsonValue; error?: string; action?: string }): boolean {
    if (!this.isReady) {
      this.d.log.warn('control answered while not registered; the answer is lost', { appId: this.appId, correlationId: body.correlation_id });
      return false;
    }
    let text = this.signed({ type: 'control_response', app_id: this.appId, ...body });
    if (Buffer.byteLength(text) > this.d.maxFrameBytes) {
      text = this.signed({ type: 'control_response', app_id: this.appId, correlation_id: body.correlation_id, ack: false, error: 'result too large' });
    }
    return this.d.connection.send(text);
  }

  /** Ends the app with a disconnect frame (spec §8). The session is finished afterwards either way. */
  disconnect(reason: string): boolean {
    const sent = this.isReady && this.d.connection.send(this.signed({ type: 'disconnect', app_id: this.appId, reason }));
    this.end('finished', `disconnected (${reason})`);
    return sent;
  }

  /**
   * Stops without dropping: the unacked messages are returned, frames as
   * sent, for the session that takes over the same app elsewhere (a move to
   * another gateway), which re-sends them with their seqs.
   */
  handOver(why: string): OutboxEntry[] {
    if (this.ended) return [];
    const left = this.outbox.clear();
    this.end('finished', why);
    return left;
  }

  /** Takes over messages another session of this app could not deliver; they go first, seqs unchanged. */
  adopt(entries: readonly OutboxEntry[]): void {
    if (this.ended || entries.length === 0) return;
    // The outbox sends in seq order: rebuild it with the handed-over entries in place.
    const mine = this.outbox.clear();
    const seen = new Set(mine.map((e) => e.seq));
    const all = [...mine, ...entries.filter((e) => !seen.has(e.seq))].sort((a, b) => a.seq - b.seq);
    for (const e of all) {
      this.outbox.push(e);
      if (e.seq > this.seqCounter) this.seqCounter = e.seq;
      if (e.msgType !== 'Status') this.terminalQueued = true;
    }
    this.outbox.rewind();
    this.pump();
  }

  /** Stops for good: leftover messages are dropped, the connection released. */
  end(state: 'finished' | 'failed', why: string): void {
    if (this.ended) return;
    this.endedWhy = why;
    this.clearTimer();
    const left = this.outbox.clear();
    this.lostAtEnd = left.length;
    if (left.length > 0) this.d.log.warn(`${left.length} unacked message(s) dropped: ${why}`, { appId: this.appId });
    for (const e of left) this.emitDropped(e.seq, e.msgType, why);
    this.setState(state);
    for (const w of [...this.drainWaiters.keys()]) w(left.length === 0);
    this.d.connection.detach(this);
  }

  // ── ConnectionMember ──────────────────────────────────────────────

  writable(): void {
    this.pump();
  }

  socketOpened(): void {
    if (this.ended) return;
    this.clearTimer();
    this.paused = false;
    this.outbox.rewind();
    this.sendRegistration(this.everRegistered ? 're_register' : 'register');
  }

  socketClosed(code: number, reason: string): void {
    if (this.ended) return;
    if (this.refusedForGood(code, reason)) return;
    this.clearTimer();
    this.paused = false;
    this.outbox.rewind();
    this.d.events.emit('disconnected', { appId: this.appId, code, reason });
    this.setState('connecting');
  }

  frame(f: ServerFrame): void {
    if (this.ended) return;
    switch (f.type) {
      case 'registered':
        return this.onRegistered(f);
      case 'ack':
        return this.onAck(f);
      case 'error':
        return this.onError(f);
      case 'control':
        return this.d.onControl(f);
      default:
        this.d.log.debug('unknown frame type from the gateway; ignored', { type: (f as { type: string }).type });
    }
  }

  // ── frames in ─────────────────────────────────────────────────────

  private onRegistered(f: RegisteredFrame): void {
    if (this._state !== 'registering') return this.d.log.debug('extra registered frame ignored', { appId: this.appId });
    if (this.d.config.secLevel !== 'open' && (this.d.verifyServer ? !this.d.verifyServer(f) : this.d.serverKey && !verifyFrame(f, this.d.serverKey))) {
      // Not the gateway we pinned. Retrying cannot change that (and a second register of an
      // app the gateway has just registered is only refused already_registered): stop, once.
      const pinned = this.d.config.serverPubKey;
      const says = typeof f.server_pub_key === 'string' ? f.server_pub_key : 'no key';
      const why =
        pinned && says !== pinned
          ? `the gateway identifies as ${says}, but serverPubKey in the config pins ${pinned}: a wrong serverPubKey (TRAILS_INFO), or not the gateway meant`
          : 'the gateway\'s registered frame does not verify against serverPubKey';
      this.d.log.error(`${why}; giving up on app ${this.appId}`, { appId: this.appId });
      return this.end('failed', 'the gateway is not the one serverPubKey pins');
    }
    if (this.d.sealed && !this.d.sealed.complete(f)) {
      this.d.log.error('encrypted handshake with the gateway failed; retrying', { appId: this.appId });
      return this.retryRegistration(this.lastRegSent ?? 'register');
    }
    // A pending rate-limit pause stays: its end re-sends the outbox (state is ready by then).
    if (!this.paused) this.clearTimer();
    this.retryAttempt = 0;
    const resumed = this.lastRegSent === 're_register';
    this.everRegistered = true;
    this.d.connection.registered();
    const { serverPubKey, secLevel } = this.d.config;
    if (serverPubKey && f.server_pub_key !== serverPubKey) {
      this.d.log.warn('gateway key differs from serverPubKey in the config; controls will not verify', { appId: this.appId });
    }
    if (f.sec_level !== secLevel) this.d.log.warn(`registered at tier ${f.sec_level}, config says ${secLevel}`, { appId: this.appId });
    this.setState('ready');
    this.d.events.emit('registered', { appId: this.appId, serverPubKey: f.server_pub_key, lastSeq: f.last_seq, secLevel: f.sec_level, resumed });
    this.outbox.rewind();
    this.pump();
    this.checkDrained();
  }

  private onAck(f: AckFrame): void {
    const e = this.outbox.ack(f.seq);
    this.retryAttempt = 0;
    this.d.events.emit('ack', { appId: this.appId, seq: f.seq, msgType: e?.msgType ?? null, duplicate: f.duplicate === true });
    if (e && e.msgType !== 'Status') {
      // A stored Result/Error ends the app on the gateway (it unbinds it); nothing more can be sent.
      this.end('finished', `${e.msgType} stored`);
      return;
    }
    this.pump();
    this.checkDrained();
  }

  private onError(f: ErrorFrame): void {
    const ev: ClientEvents['error'] = { appId: this.appId, code: f.code, message: f.message };
    if (f.seq !== undefined) ev.seq = f.seq;
    if (f.correlation_id !== undefined) ev.correlationId = f.correlation_id;
    this.d.events.emit('error', ev);
    const ctx = { appId: this.appId, code: f.code, message: f.message, seq: f.seq };
    if (f.code === 'rate_limited') {
      this.d.log.warn('gateway is rate limiting this connection; backing off', ctx);
      return this.pauseAndResend();
    }
    if (f.app_id === undefined) return this.d.log.warn('gateway error about the connection', ctx);
    if (f.seq !== undefined) return this.onMessageError(f.code, f.seq, ctx);
    if (f.correlation_id !== undefined) return this.d.log.warn('gateway refused a control response', ctx);
    if (this._state === 'registering') return this.onRegistrationRefused(f.code, ctx);
    this.d.log.warn('gateway error', ctx);
  }

  private onMessageError(code: ErrorCode, seq: number, ctx: object): void {
    if (code === 'storage_unavailable' || code === 'internal_error') {
      this.d.log.warn('gateway could not store a message; will re-send', ctx);
      return this.pauseAndResend();
    }
    if (code === 'not_registered') {
      // The gateway no longer has us on this socket: register again, which also re-sends the outbox.
      this.d.log.warn('gateway says the app is not registered; re-registering', ctx);
      if (this._state === 'ready') this.sendRegistration('re_register');
      return;
    }
    // seq_conflict, seq_regressed, bad_signature, ...: this message will never be accepted.
    this.d.log.error('gateway refused a message; dropped', ctx);
    const e = this.outbox.ack(seq);
    if (e) this.emitDropped(e.seq, e.msgType, `refused by the gateway: ${code}`);
    this.pump();
    this.checkDrained();
  }

  private onRegistrationRefused(code: ErrorCode, ctx: object): void {
    if (code === 'already_registered') return this.retryRegistration('re_register');
    if (code === 'registration_failed') {
      // re_register of an app the gateway does not know: register it. A refused register
      // (already registered here) is retried as re_register, which converges either way.
      if (this.lastRegSent === 're_register') return this.sendRegistration('register');
      return this.retryRegistration('re_register');
    }
    if (code === 'app_terminal') {
      this.d.log.warn('gateway says the app has already ended', ctx);
      return this.end('finished', 'the gateway says the app has ended');
    }
    if (RETRYABLE.includes(code)) {
      this.d.log.warn('registration refused for now; will retry', ctx);
      return this.retryRegistration(this.lastRegSent ?? 'register');
    }
    this.d.log.error('registration refused; giving up on this identity', ctx);
    this.end('failed', `registration refused: ${code}`);
  }

  // ── helpers ───────────────────────────────────────────────────────

  /**
   * A final close (4400–4499, docs/PROTOCOL.md) that names this app, or no
   * app: reconnecting with the same configuration would be refused again, so
   * the session ends with one error instead (the connection stops once no
   * app is left on it). One naming another app on a shared socket is not ours.
   */
  private refusedForGood(code: number, reason: string): boolean {
    if (!isFinalClose(code)) return false;
    const named = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(reason)?.[0];
    if (named && named.toLowerCase() !== this.appId.toLowerCase()) return false;
    const why = `the gateway refused this app for good (close ${code} ${reason || 'without a reason'}); not reconnecting`;
    if (code === CloseCode.appTerminal) {
      this.d.log.warn(why, { appId: this.appId });
      this.end('finished', why);
    } else {
      this.d.log.error(why, { appId: this.appId });
      this.end('failed', why);
    }
    return true;
  }

  private sendRegistration(kind: RegKind): void {
    this.lastRegSent = kind;
    this.setState('registering');
    const ts = this.nextAuthTs();
    const c = this.d.config;
    const frame =
      kind === 'register'
        ? { type: kind, app_id: this.appId, parent_id: c.parentId, app_name: c.appName, child_pub_key: this.publicKeyText, process_info: this.d.processInfo, role_refs: c.roleRefs ?? [], sec_level: c.secLevel, timestamp: ts }
        : { type: kind, app_id: this.appId, last_seq: this.seqCounter, pub_key: this.publicKeyText, timestamp: ts };
    const handshake = this.d.sealed ? { child_ephemeral: this.d.sealed.begin() } : {};
    this.d.connection.send(this.sign({ ...frame, ...handshake }));
  }

  private retryRegistration(kind: RegKind): void {
    this.clearTimer();
    const delay = backoffDelay(this.retryAttempt++, this.d.random, this.d.backoff);
    this.timer(delay, () => {
      if (this._state === 'registering' && this.d.connection.isOpen) this.sendRegistration(kind);
    });
  }

  /** Frames may have been dropped (rate limit) or not stored: wait, then re-send everything unacked. */
  private pauseAndResend(): void {
    if (this.paused) return;
    this.paused = true;
    const delay = backoffDelay(this.retryAttempt++, this.d.random, this.d.backoff);
    this.timer(delay, () => {
      this.paused = false;
      if (!this.d.connection.isOpen) return;
      // A register that was dropped gets no answer; re_register is safe whether or not it arrived.
      if (this._state === 'registering') return this.sendRegistration('re_register');
      this.outbox.rewind();
      this.pump();
    });
  }

  private pump(): void {
    if (this._state !== 'ready' || this.paused) return;
    const conn = this.d.connection;
    while (this.outbox.inFlight < this.d.window && this.outbox.hasUnsent && conn.takeToken()) {
      const e = this.outbox.takeNext();
      if (!e) break;
      if (!conn.send(e.text, true)) {
        this.outbox.rewind();
        break;
      }
    }
  }

  private checkDrained(): void {
    for (const [w, needReady] of [...this.drainWaiters]) if (this.drained(needReady)) w(true);
  }

  /** Signed control-plane frames carry a timestamp the gateway requires to increase (replay window). */
  private nextAuthTs(): number {
    this.lastAuthTs = Math.max(this.d.now(), this.lastAuthTs + 1);
    return this.lastAuthTs;
  }

  private signed(frame: object): string {
    return this.sign({ ...frame, timestamp: this.nextAuthTs() });
  }

  private sign(frame: object): string {
    // Inside the encrypted tier's sealed channel the AEAD already proves who
    // sent a frame; only register and re_register (which open it) are signed.
    const t = (frame as { type?: string }).type;
    const sealedData = this.d.sealed !== undefined && t !== 'register' && t !== 're_register';
    return JSON.stringify(this.key && !sealedData ? signFrame(frame, this.key) : { ...frame, sig: null });
  }

  /**
   * A message after the app ended: refused (false, and a 'dropped' event each
   * time), but said in the log once, not once per call of a loop that keeps
   * reporting.
   */
  private refuseAfterEnd(msgType: MsgType): false {
    const reason = `app ${this.appId} has ${this._state === 'failed' ? 'failed' : 'ended'} (${this.endedWhy}); status/result/error are refused from now on`;
    if (!this.refusedAfterEnd) this.d.log.warn(reason);
    this.refusedAfterEnd = true;
    this.emitDropped(null, msgType, reason);
    return false;
  }

  private drop(seq: number | null, msgType: MsgType, reason: string): false {
    this.d.log.warn(`message dropped: ${reason}`, { appId: this.appId, seq, msgType });
    this.emitDropped(seq, msgType, reason);
    return false;
  }

  private emitDropped(seq: number | null, msgType: MsgType, reason: string): void {
    this.d.events.emit('dropped', { appId: this.appId, seq, msgType, reason });
  }

  private setState(s: ClientState): void {
    if (s === this._state) return;
    const previous = this._state;
    this._state = s;
    this.d.events.emit('state', { appId: this.appId, state: s, previous });
  }

  private timer(ms: number, fn: () => void): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      fn();
    }, ms);
    this.retryTimer.unref?.();
  }

  private clearTimer(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.paused = false;
  }
}
