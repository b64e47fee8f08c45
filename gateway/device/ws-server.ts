/**
 * The `ws` adapter: real sockets become hub Connections. Kept thin on
 * purpose; every protocol decision is the hub's. Compression is off (zlib
 * contexts would cost tens of KiB per idle device) and each frame is capped
 * at maxPayload, which ws enforces by closing with 1009.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, type ServerFrame } from '../../protocol/frames.js';
import { AddressCounts, addressKey } from '../core/address-counts.js';
import { refuseUpgrade } from '../http/upgrade-refusal.js';
import type { Connection } from './connection.js';
import type { DeviceHub } from './hub.js';
import { joinFromUrl } from './join-gate.js';
import { TurnSlicer } from './turn-slicer.js';

export interface DeviceServerOptions {
  maxPayload: number;
  /** Ping period for dead-peer detection; 0 turns it off. A missed pong is a heartbeat_timeout crash. */
  heartbeatMs: number;
  /** Refuse new sockets beyond this many (503 too_many_connections on upgrade). */
  maxConnections: number;
  /** Sockets one remote address may hold (429 too_many_connections_from_address); default: no cap beyond maxConnections. */
  maxPerAddress?: number;
  /**
   * Sockets of one address that no app registered on yet (nor a first
   * contact): without it one address could hold its whole share with
   * sockets that say nothing until the registration timeout (429
   * too_many_unregistered_from_address).
   */
  maxUnregisteredPerAddress?: number;
  /** Work per event-loop turn before socket events wait for the next slice (turn-slicer.ts); 0 = no slicing. */
  sliceMs?: number;
  /** Told of each accepted socket, for the activity log (activity-log.ts). */
  onAccept?: (remote: string) => void;
}

interface Tracked {
  conn: Connection;
  alive: boolean;
  /** The address key the caps count this socket under. */
  address: string;
  /** Set once the hub answered registered or bootstrap_pending on it. */
  registered: boolean;
}

export class DeviceServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Tracked>();
  private readonly perAddress = new AddressCounts();
  private readonly unregistered = new AddressCounts();
  private nextId = 1;
  private heartbeat?: NodeJS.Timeout;
  readonly slicer?: TurnSlicer;

  constructor(private readonly hub: DeviceHub, private readonly opts: DeviceServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload, perMessageDeflate: false, clientTracking: false });
    if (opts.sliceMs) this.slicer = new TurnSlicer(opts.sliceMs);
    if (opts.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.sweepHeartbeats(), opts.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Called by the HTTP server's upgrade router for GET /ws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = req.socket.remoteAddress ?? 'unknown';
    const address = addressKey(remote);
    const refusal = this.capRefusal(address);
    if (refusal) return refuseUpgrade(socket, refusal.status, refusal.code, refusal.message);
    const secure = Boolean((req.socket as { encrypted?: boolean }).encrypted);
    const joinToken = joinFromUrl(req.url);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, remote, address, secure, joinToken));
  }

  /** The cap a new socket of `address` would break, if any: the global one first. */
  private capRefusal(address: string): { status: 429 | 503; code: string; message: string } | undefined {
    const o = this.opts;
    if (this.hub.isStopping) return { status: 503, code: 'gateway_stopping', message: 'the gateway is restarting; connect again shortly' };
    if (this.sockets.size >= o.maxConnections) {
      return { status: 503, code: 'too_many_connections', message: `the gateway holds ${o.maxConnections} device sockets, its --max-connections; try later` };
    }
    if (o.maxPerAddress !== undefined && this.perAddress.count(address) >= o.maxPerAddress) {
      return { status: 429, code: 'too_many_connections_from_address', message: `this address holds ${o.maxPerAddress} device sockets, the gateway's --max-connections-per-address; carry more apps per socket or close one` };
    }
    if (o.maxUnregisteredPerAddress !== undefined && this.unregistered.count(address) >= o.maxUnregisteredPerAddress) {
      return { status: 429, code: 'too_many_unregistered_from_address', message: `this address holds ${o.maxUnregisteredPerAddress} sockets that have not registered, the gateway's --max-unregistered-per-address; register on them first` };
    }
    return undefined;
  }

  /** Sockets one address holds now (all, and those not registered yet). */
  heldBy(remote: string): { sockets: number; unregistered: number } {
    const address = addressKey(remote);
    return { sockets: this.perAddress.count(address), unregistered: this.unregistered.count(address) };
  }

  get size(): number {
    return this.sockets.size;
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket, socket: Duplex, remote: string, address: string, secure: boolean, joinToken?: string): void {
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    const write = (data: string | Uint8Array): void => {
      if (ws.readyState !== ws.OPEN) return;
      // The acks of one commit go out in one write per socket, not one each.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      ws.send(data);
    };
    const conn: Connection = {
      id: this.nextId++,
      remote,
      secure,
      ...(joinToken !== undefined ? { joinToken } : {}),
      send: (frame: ServerFrame) => {
        if (!tracked.registered && (frame.type === 'registered' || frame.type === 'bootstrap_pending')) this.registered(tracked);
        write(JSON.stringify(frame));
      },
      sendBinary: (data: Uint8Array) => write(data),
      close: (code, reason) => ws.close(code, reason),
    };
    const tracked: Tracked = { conn, alive: true, address, registered: false };
    this.sockets.set(ws, tracked);
    this.perAddress.add(address);
    this.unregistered.add(address);
    const hub = this.hub;
    // The hub guards its own entry points; this catches what fails before them (the socket's own, say), closing only this socket.
    const safely = (event: () => void): void => {
      try {
        event();
      } catch {
        ws.close(CloseCode.internalError, 'internal error');
      }
    };
    const run = this.slicer ? (event: () => void) => this.slicer!.run(() => safely(event)) : safely;
    run(() => hub.onOpen(conn));
    this.opts.onAccept?.(remote);
    ws.on('message', (data, isBinary) => {
      if (isBinary) run(() => hub.onBinary(conn, data as Buffer));
      else {
        const text = data.toString();
        run(() => hub.onText(conn, text));
      }
    });
    ws.on('pong', () => void (tracked.alive = true));
    ws.on('error', () => {
      /* 'close' follows; the hub decides what the drop means */
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.perAddress.remove(address);
      if (!tracked.registered) this.unregistered.remove(address);
      const reason = tracked.alive ? 'closed' : 'heartbeat';
      // After the frames still waiting: a disconnect sent just before the close is handled first.
      run(() => hub.onClose(conn, reason));
    });
  }

  /** The socket carries an app (or a first contact) now: it no longer counts as unregistered. */
  private registered(t: Tracked): void {
    t.registered = true;
    this.unregistered.remove(t.address);
  }

  private sweepHeartbeats(): void {
    for (const [ws, t] of this.sockets) {
      if (!t.alive) {
        ws.terminate();
        continue;
      }
      t.alive = false;
      ws.ping();
    }
  }
}
