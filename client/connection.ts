/**
 * One WebSocket to the gateway, shared by any number of identities (spec §18:
 * several app_ids multiplexed on one socket, each frame naming its app).
 *
 * The connection owns only the socket and its reconnection; everything about
 * an identity (registration, seq, outbox) lives in its member. Frames from
 * the gateway are routed by app_id; frames without one (rate_limited, a
 * frame the gateway could not parse) concern the whole socket and go to
 * every member.
 *
 * Reconnection follows spec §19: exponential backoff with jitter, the attempt
 * count reset once any member registers on the new socket (a socket that
 * opens but is refused straight away keeps backing off).
 */
import type { ServerFrame } from '../protocol/frames.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { toWsUrl } from './config.js';
import { consoleLogger, safeLogger, type TrailsLogger } from './log.js';
import type { Transport, TransportHandlers, TransportSocket } from './transport.js';
import { wsTransport } from './transport.js';

export interface ConnectionMember {
  readonly appId: string;
  /** Send tokens are available again after takeToken() said no. */
  writable(): void;
  /** A socket opened: (re)start registration on it. */
  socketOpened(): void;
  /** A frame addressed to this app, or to the whole socket. */
  frame(f: ServerFrame): void;
  /** The socket closed (by either side). */
  socketClosed(code: number, reason: string): void;
}

export interface ConnectionOptions {
  transport?: Transport;
  /** [0, 1) like Math.random; drives the backoff jitter. */
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  logger?: TrailsLogger;
  /**
   * Client-side pacing of frames on this socket. The gateway allows `rate`
   * frames/s per connection (burst above it) and closes a socket that keeps
   * exceeding it, so a fast producer is paced here instead of being dropped
   * there. The default matches the gateway default; null turns pacing off.
   */
  rate?: { perSecond: number; burst: number } | null;
}

export const DEFAULT_RATE = { perSecond: 500, burst: 500 };
const WAKE_BATCH = 8;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

export class TrailsConnection {
  readonly url: string;
  private readonly transport: Transport;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly log: TrailsLogger;
  private readonly members = new Map<string, ConnectionMember>();
  private socket: TransportSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private _state: ConnectionState = 'idle';
  private readonly rate: { perSecond: number; burst: number } | null;
  private tokens = 0;
  private refilledAt = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private turn = 0;
  /** Sockets opened so far; lets tests and benchmarks see reconnects. */
  connects = 0;

  constructor(serverEp: string, opts: ConnectionOptions = {}) {
    this.url = toWsUrl(serverEp);
    this.transport = opts.transport ?? wsTransport();
    this.random = opts.random ?? Math.random;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.log = safeLogger(opts.logger ?? consoleLogger);
    this.rate = opts.rate === undefined ? DEFAULT_RATE : opts.rate;
  }

  get state(): ConnectionState {
    return this._state;
  }

  get isOpen(): boolean {
    return this._state === 'open';
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Adds an identity; connects when this is the first one. */
  attach(m: ConnectionMember): void {
    if (this._state === 'closed') throw new Error('this TrailsConnection was closed');
    const other = this.members.get(m.appId);
    if (other && other !== m) throw new Error(`app ${m.appId} is already on this connection`);
    this.members.set(m.appId, m);
    if (this._state === 'open') m.socketOpened();
    else if (this._state === 'idle') this.connect();
  }

  /** Removes an identity; the socket closes when none is left. */
  detach(m: ConnectionMember): void {
    if (this.members.get(m.appId) !== m) return;
    this.members.delete(m.appId);
    if (this.members.size === 0) this.shutdown(false);
  }

  /**
   * A token for one data frame. False means "not now": the member is called
   * back through writable() when the bucket has refilled.
   */
  takeToken(): boolean {
    if (!this.rate) return true;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (!this.wakeTimer) {
      // Wake when a few tokens have gathered, not for each one: fewer timers under sustained load.
      const want = Math.min(WAKE_BATCH, this.rate.burst);
      const ms = Math.max(1, Math.ceil(((want - this.tokens) / this.rate.perSecond) * 1000));
      this.wakeTimer = setTimeout(() => this.wake(), ms);
    }
    return false;
  }

  /**
   * Writes a frame; false when no socket is open (the caller keeps it for the
   * next one). Control-plane frames are never held back, but they count
   * against the bucket like data frames do at the gateway.
   */
  send(text: string, token = false): boolean {
    if (this._state !== 'open' || !this.socket) return false;
    if (!token && this.rate) {
      this.refill();
      this.tokens -= 1;
    }
    try {
      this.socket.send(text);
      return true;
    } catch (err) {
      this.log.warn('socket send failed', { err: String(err) });
      return false;
    }
  }

  /** A member registered: the socket is healthy, so the next outage starts backing off from scratch. */
  registered(): void {
    this.attempt = 0;
  }

  /**
   * Closes the socket for every member and stops reconnecting. Shut the
   * clients on it down first: members still attached just stay offline.
   */
  close(): void {
    this.shutdown(true);
  }

  private refill(): void {
    const now = Date.now();
    const r = this.rate!;
    this.tokens = Math.min(r.burst, this.tokens + ((now - this.refilledAt) / 1000) * r.perSecond);
    this.refilledAt = now;
  }

  private wake(): void {
    this.wakeTimer = null;
    if (this._state !== 'open') return;
    // Rotate who goes first, so one busy identity cannot starve the others on a shared socket.
    const ms = [...this.members.values()];
    const first = this.turn++ % Math.max(1, ms.length);
    for (const m of [...ms.slice(first), ...ms.slice(0, first)]) m.writable();
  }

  private shutdown(final: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const s = this.socket;
    this.socket = null;
    // 'idle' lets a later attach() connect again; close() is for good.
    this._state = final ? 'closed' : 'idle';
    s?.close(1000, 'client done');
    if (s) for (const m of [...this.members.values()]) m.socketClosed(1000, 'client closed');
  }

  private connect(): void {
    this.timer = null;
    this._state = 'connecting';
    this.connects++;
    let mine: TransportSocket | null = null;
    const current = (): boolean => mine !== null && this.socket === mine;
    const handlers: TransportHandlers = {
      onOpen: () => {
        if (!current()) return;
        this._state = 'open';
        // The gateway's bucket is per connection and starts full; ours starts with it.
        if (this.rate) {
          this.tokens = this.rate.burst;
          this.refilledAt = Date.now();
        }
        this.log.debug('connected', { url: this.url });
        for (const m of [...this.members.values()]) m.socketOpened();
      },
      onMessage: (text) => {
        if (current()) this.route(text);
      },
      onClose: (code, reason) => {
        if (!current()) return;
        const opened = this._state === 'open';
        this.socket = null;
        this.log.debug('socket closed', { code, reason });
        for (const m of [...this.members.values()]) m.socketClosed(code, reason);
        this.scheduleReconnect(opened ? `connection lost (${code}${reason ? ` ${reason}` : ''})` : `cannot reach the gateway${reason ? ` (${reason})` : ''}`);
      },
    };
    try {
      mine = this.socket = this.transport.open(this.url, handlers);
    } catch (err) {
      // A transport that throws at open (bad URL, no sockets left) is one more failed attempt.
      this.socket = null;
      this.scheduleReconnect(`could not open a socket (${String(err)})`);
    }
  }

  private scheduleReconnect(why: string): void {
    if (this.members.size === 0) {
      this._state = 'idle';
      return;
    }
    const delay = backoffDelay(this.attempt++, this.random, this.backoff);
    this._state = 'backoff';
    // Attempts 1, 2, 4, 8, …: a gateway that is down is said, without a line per retry.
    const level = (this.attempt & (this.attempt - 1)) === 0 ? 'warn' : 'debug';
    this.log[level](`${why} at ${this.url}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt})`);
    this.timer = setTimeout(() => this.connect(), delay);
    // The host app decides how long the process lives; a pending reconnect must not keep it alive.
    this.timer.unref?.();
  }

  private route(text: string): void {
    let f: unknown;
    try {
      f = JSON.parse(text);
    } catch {
      return this.log.warn('gateway sent a frame that is not JSON; ignored', { text: text.slice(0, 200) });
    }
    if (typeof f !== 'object' || f === null || typeof (f as { type?: unknown }).type !== 'string') {
      return this.log.warn('gateway sent a frame without "type"; ignored');
    }
    const frame = f as ServerFrame;
    const appId = (frame as { app_id?: unknown }).app_id;
    if (typeof appId === 'string') {
      const m = this.members.get(appId.toLowerCase());
      if (m) return this.deliver(m, frame);
      return this.log.debug('frame for an app not on this connection; ignored', { appId, type: frame.type });
    }
    for (const m of [...this.members.values()]) this.deliver(m, frame);
  }

  private deliver(m: ConnectionMember, f: ServerFrame): void {
    try {
      m.frame(f);
    } catch (err) {
      this.log.error('frame handler failed', { appId: m.appId, type: f.type, err: String(err) });
    }
  }
}
