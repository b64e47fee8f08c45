/**
 * The `ws` adapter: real sockets become hub Connections. Kept thin on
 * purpose; every protocol decision is the hub's. Compression is off (zlib
 * contexts would cost tens of KiB per idle device) and each frame is capped
 * at maxPayload, which ws enforces by closing with 1009.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, type ServerFrame } from '../protocol/frames.js';
import type { Connection } from './connection.js';
import type { DeviceHub } from './hub.js';
import { TurnSlicer } from './turn-slicer.js';

export interface DeviceServerOptions {
  maxPayload: number;
  /** Ping period for dead-peer detection; 0 turns it off. A missed pong is a heartbeat_timeout crash. */
  heartbeatMs: number;
  /** Refuse new sockets beyond this many (503 on upgrade). */
  maxConnections: number;
  /** Work per event-loop turn before socket events wait for the next slice (turn-slicer.ts); 0 = no slicing. */
  sliceMs?: number;
}

interface Tracked {
  conn: Connection;
  alive: boolean;
}

export class DeviceServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Tracked>();
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
    if (this.sockets.size >= this.opts.maxConnections || this.hub.isStopping) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const secure = Boolean((req.socket as { encrypted?: boolean }).encrypted);
    const remote = req.socket.remoteAddress ?? 'unknown';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, remote, secure));
  }

  get size(): number {
    return this.sockets.size;
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket, socket: Duplex, remote: string, secure: boolean): void {
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
      send: (frame: ServerFrame) => write(JSON.stringify(frame)),
      sendBinary: (data: Uint8Array) => write(data),
      close: (code, reason) => ws.close(code, reason),
    };
    const tracked: Tracked = { conn, alive: true };
    this.sockets.set(ws, tracked);
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
      const reason = tracked.alive ? 'closed' : 'heartbeat';
      // After the frames still waiting: a disconnect sent just before the close is handled first.
      run(() => hub.onClose(conn, reason));
    });
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
