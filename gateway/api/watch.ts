/**
 * The watch WebSocket, /api/v1/watch (spec §14, §20, §23): the upgrade is
 * authenticated like any request, then the watcher gets a catch-up from the
 * store and live events from the event bus. The catch-up is read (or reused,
 * if no event touched it since) and the watcher joins its channel in one
 * synchronous step, so no event falls between them (events are emitted after
 * their commit).
 *
 * Watchers never slow ingest: the bus listener only matches and queues; one
 * frame per channel goes out per event-loop turn; and a watcher whose socket
 * buffers more than `maxBufferedBytes` is closed (1013) rather than buffered
 * without bound.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestAuthenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { isTerminal } from '../core/lifecycle.js';
import { AddressCounts, addressKey } from '../core/address-counts.js';
import type { EventBus, GatewayEvent } from '../events.js';
import type { ApiContext, Caller } from './context.js';
import { who } from './context.js';
import { errorBody } from './errors.js';
import { Channel, catchUpRows, eventFrame, filterKey, isStatus, parseWatchFilter, type CatchUp, type QueuedEvent, type WatchFilter, type Watcher } from './watch-channels.js';
import { snapshotMessage, terminalMessage } from './watch-messages.js';

export interface WatchStats {
  /** Events queued for at least one channel. */
  events: number;
  /** WebSocket messages sent to watchers, and their bytes (catch-up excluded). */
  frames: number;
  bytes: number;
  /** Watchers closed as slow consumers. */
  dropped: number;
  /** Main-thread ms spent matching, framing and sending live events: what watching costs ingest. */
  busyMs: number;
}

export interface WatchOptions {
  maxBufferedBytes?: number;
  maxWatchers?: number;
  /** Watch sockets one remote address may hold (429 too_many_watchers_from_address). */
  maxWatchersPerAddress?: number;
  /**
   * How long Status events may wait for their frame (default 500 ms); within
   * it a newer Status of an app supersedes the older one. Any other event
   * (Result, Error, status changes, crashes, controls) goes out in the turn
   * it happens, taking the waiting ones along.
   */
  statusWindowMs?: number;
}

const STATUS_LINE: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export class WatchServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 4096 });
  private readonly channels = new Map<string, Channel>();
  /** app_id channels by app, so an event costs one look-up however many `trails wait` run. */
  private readonly byApp = new Map<string, Channel>();
  private readonly dirty = new Set<Channel>();
  /** Held only while some channel exists: with nobody watching, ingest builds no events at all. */
  private unsubscribe?: () => void;
  private readonly maxBuffered: number;
  private readonly maxWatchers: number;
  private flushScheduled = false;
  private flushTimer?: NodeJS.Timeout;
  private readonly statusWindowMs: number;
  private count = 0;
  private readonly maxPerAddress: number;
  private readonly perAddress = new AddressCounts();
  readonly stats: WatchStats = { events: 0, frames: 0, bytes: 0, dropped: 0, busyMs: 0 };

  constructor(
    private readonly ctx: ApiContext,
    private readonly auth: RequestAuthenticator,
    private readonly events: EventBus,
    opts: WatchOptions = {},
  ) {
    this.maxBuffered = opts.maxBufferedBytes ?? 4 << 20;
    this.maxWatchers = opts.maxWatchers ?? 10_000;
    this.maxPerAddress = opts.maxWatchersPerAddress ?? 32;
    this.statusWindowMs = opts.statusWindowMs ?? 500;
  }

  get size(): number {
    return this.count;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrade(req, socket, head).catch(() => {
      try {
        reject(socket, 500, 'internal', 'the gateway failed to open this watch');
      } catch {
        socket.destroy();
      }
    });
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const ch of this.channels.values()) for (const w of ch.watchers) w.ws.close(1001, 'gateway stopping');
    this.channels.clear();
    this.byApp.clear();
    this.wss.close();
  }

  // ── upgrade ───────────────────────────────────────────────────────

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ua = req.headers['user-agent'];
    const c: Caller = { ip: req.socket.remoteAddress ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
    const url = req.url ?? '/';
    const address = addressKey(req.socket.remoteAddress);
    // Before authentication too: a full table costs no signature check and no nonce.
    if (this.capRefused(socket, address)) return;
    const out = await this.auth.authenticate({ method: req.method ?? 'GET', url, headers: req.headers });
    if (!out.ok) {
      const { status, code, message } = out.failure;
      await this.ctx.audit(c, { action: 'watch', target: null, outcome: `refused:${status}:${code}`, payload: { path: url, message } });
      return reject(socket, status, code, message);
    }
    c.principal = out.principal;
    const parsed = parseWatchFilter(url);
    if (!parsed.ok) return reject(socket, 400, 'bad_request', parsed.message);
    const f = parsed.filter;
    const target = f.app_id ?? f.parent_id;
    if (target && !this.ctx.store.getApp(target)) return reject(socket, 404, 'not_found', `no app ${target} is known to this gateway`);
    const refusal = this.refusal(out.principal, target);
    if (refusal) {
      await this.ctx.audit(c, { action: 'watch', target: target ?? null, outcome: 'refused:403', payload: { path: url, message: refusal } });
      return reject(socket, 403, 'forbidden', refusal);
    }
    if (this.capRefused(socket, address) || socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptGuarded(ws, f, address));
  }

  private capRefused(socket: Duplex, address: string): boolean {
    if (this.count >= this.maxWatchers) {
      reject(socket, 503, 'too_many_watchers', `the gateway has ${this.maxWatchers} watchers, its --max-watchers; try later`);
      return true;
    }
    if (this.perAddress.count(address) >= this.maxPerAddress) {
      reject(socket, 429, 'too_many_watchers_from_address', `this address holds ${this.maxPerAddress} watch sockets, the gateway's --max-watchers-per-address; close one`);
      return true;
    }
    return false;
  }

  /** An app may watch only itself or its descendants, named by app_id or parent_id. */
  private refusal(p: Principal, target: string | undefined): string | undefined {
    if (p.kind === 'admin') return undefined;
    if (!target) return 'an app must watch with app_id or parent_id inside its own subtree';
    return this.ctx.rules.canRead(p, target) ? undefined : `app ${target} is not in the subtree of ${who(p)}`;
  }

  // ── watchers ──────────────────────────────────────────────────────

  /** A failure while a watcher joins closes that watcher only (1011), never the gateway. */
  private acceptGuarded(ws: WebSocket, f: WatchFilter, address: string): void {
    try {
      this.accept(ws, f, address);
    } catch {
      ws.close(1011, 'internal error');
    }
  }

  private accept(ws: WebSocket, f: WatchFilter, address: string): void {
    ws.on('error', () => {});
    const ch = this.channelFor(f);
    const catchUp = this.catchUp(ch);
    for (const data of catchUp.messages) ws.send(data, { binary: false });
    if (catchUp.terminal) {
      ws.send(catchUp.terminal, { binary: false });
      ws.close(1000, 'terminal');
      if (ch.watchers.size === 0) this.drop(ch);
      return;
    }
    const w: Watcher = { ws, from: ch.pending.length };
    ch.watchers.add(w);
    this.count++;
    this.perAddress.add(address);
    ws.on('close', () => {
      this.perAddress.remove(address);
      this.leave(ch, w);
    });
  }

  /**
   * The catch-up of a channel, read from the store once and reused by the
   * watchers that join before the next event touches the channel (a burst of
   * watchers of one subtree then costs one read, not one each).
   */
  private catchUp(ch: Channel): CatchUp {
    if (ch.catchUp?.version === ch.version) return ch.catchUp;
    const store = this.ctx.store;
    const rows = catchUpRows(store, ch.filter);
    const encode = (m: object): Buffer => Buffer.from(JSON.stringify(m));
    const messages = rows.map((row) => encode(snapshotMessage(store, row)));
    messages.push(encode({ type: 'caught_up', apps: rows.length }));
    const one = ch.filter.app_id ? rows[0] : undefined;
    const terminal = one && isTerminal(one.status) ? encode(terminalMessage(store, one.app_id, one.status)) : undefined;
    ch.catchUp = { version: ch.version, messages, ...(terminal ? { terminal } : {}) };
    return ch.catchUp;
  }

  private channelFor(f: WatchFilter): Channel {
    const key = filterKey(f);
    let ch = this.channels.get(key);
    if (!ch) {
      ch = new Channel(key, f, this.ctx.store);
      this.channels.set(key, ch);
      this.unsubscribe ??= this.events.subscribe((e) => this.onEvent(e));
      if (f.app_id) this.byApp.set(f.app_id, ch);
    }
    return ch;
  }

  private leave(ch: Channel, w: Watcher): void {
    if (!ch.watchers.delete(w)) return;
    this.count--;
    if (ch.watchers.size === 0) this.drop(ch);
  }

  private drop(ch: Channel): void {
    this.channels.delete(ch.key);
    if (ch.filter.app_id && this.byApp.get(ch.filter.app_id) === ch) this.byApp.delete(ch.filter.app_id);
    this.dirty.delete(ch);
    if (this.channels.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }

  // ── live events ───────────────────────────────────────────────────

  private onEvent(e: GatewayEvent): void {
    if (this.channels.size === 0) return;
    const t0 = performance.now();
    let queued: QueuedEvent | undefined;
    const offer = (ch: Channel): void => {
      if (ch.closing || !ch.covers(e)) return;
      ch.version++;
      if (!ch.inNamespace(e)) return;
      queued ??= { event: e };
      ch.push(queued);
      this.dirty.add(ch);
    };
    const app = this.byApp.get(e.app_id);
    if (app) offer(app);
    const wantedByAppWatch = queued !== undefined;
    for (const ch of this.channels.values()) if (!ch.filter.app_id) offer(ch);
    if (queued !== undefined) this.stats.events++;
    if (this.dirty.size > 0) this.scheduleFlush(isStatus(e) && !wantedByAppWatch);
    this.stats.busyMs += performance.now() - t0;
  }

  /**
   * Status events for subtree-wide watches wait up to the window, so that a
   * device reporting many times a second costs each watcher a few events, not
   * all of them; any other event, and any event an app_id watch wants,
   * flushes in this turn. (With 1,000 devices reporting flat out, every
   * Status to 100 watchers was half a gigabyte a second.)
   */
  private scheduleFlush(status: boolean): void {
    if (status && this.statusWindowMs > 0) {
      this.flushTimer ??= setTimeout(() => this.flush(), this.statusWindowMs).unref();
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const t0 = performance.now();
    this.flushScheduled = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const ch of this.dirty) {
      const shared = eventFrame(ch.texts());
      for (const w of ch.watchers) {
        const data = w.from === 0 ? shared : eventFrame(ch.texts(w.from));
        w.from = 0;
        if (data) this.send(ch, w, data);
      }
      ch.clear();
      if (ch.closing) this.finish(ch);
    }
    this.dirty.clear();
    this.stats.busyMs += performance.now() - t0;
  }

  /** The app of an app_id channel ended: the terminal message, then a normal close. */
  private finish(ch: Channel): void {
    const appId = ch.filter.app_id!;
    const status = this.ctx.statusOf(appId);
    const data = status ? Buffer.from(JSON.stringify(terminalMessage(this.ctx.store, appId, status))) : undefined;
    for (const w of [...ch.watchers]) {
      if (data) this.send(ch, w, data);
      w.ws.close(1000, 'terminal');
      this.leave(ch, w);
    }
    this.drop(ch);
  }

  private send(ch: Channel, w: Watcher, data: Buffer): void {
    if (w.ws.readyState !== 1) return;
    if (w.ws.bufferedAmount > this.maxBuffered) {
      w.ws.close(1013, 'slow consumer');
      // The close frame waits behind the backlog; a consumer that reads nothing is cut off.
      setTimeout(() => w.ws.terminate(), 1000).unref();
      this.leave(ch, w);
      this.stats.dropped++;
      return;
    }
    w.ws.send(data, { binary: false });
    this.stats.frames++;
    this.stats.bytes += data.length;
  }
}

function reject(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, message));
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_LINE[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
