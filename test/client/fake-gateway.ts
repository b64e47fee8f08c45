/**
 * A scripted gateway over the in-memory transport, for unit tests of the
 * client. It does what the real hub does at the level the client can see
 * (registered, acks with dedupe, re_register of unknown apps refused), and
 * every reply can be turned off or replaced per test.
 */
import { generateKeyPair, privateKeyObject, type Ed25519KeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { signFrame } from '../../gateway/crypto/frame-signing.js';
import { MemorySocket, MemoryTransport } from '../../client/memory-transport.js';
import { randomUUID } from 'node:crypto';
import type { TrailsConfig } from '../../client/config.js';
import { silentLogger } from '../../client/log.js';

export type Frame = Record<string, any>;

interface FakeApp {
  lastSeq: number;
  secLevel: string;
  stored: Map<number, string>;
}

export class FakeGateway {
  readonly transport: MemoryTransport;
  readonly key: Ed25519KeyPair = generateKeyPair();
  readonly apps = new Map<string, FakeApp>();
  /** Every frame any client sent, with the socket it came on. */
  readonly log: Array<{ socket: MemorySocket; frame: Frame }> = [];
  refuse = false;
  autoRegister = true;
  autoAck = true;
  /** Return true to take over a frame (the default reply is skipped). */
  intercept?: (frame: Frame, socket: MemorySocket) => boolean;

  constructor() {
    this.transport = new MemoryTransport({
      onConnect: (s) => {
        if (this.refuse) return s.refuse();
        s.onClientFrame = (f) => this.onFrame(s, f as Frame);
        s.accept();
      },
    });
  }

  get publicKeyText(): string {
    return encodePublicKey(this.key.publicKey);
  }

  get sockets(): MemorySocket[] {
    return this.transport.sockets;
  }

  get last(): MemorySocket {
    return this.transport.last!;
  }

  frames(type?: string): Frame[] {
    return this.log.map((l) => l.frame).filter((f) => type === undefined || f.type === type);
  }

  /** A control frame signed with this gateway's key (or another key, to test forgeries). */
  control(appId: string, action: string, payload: unknown = null, signer: Ed25519KeyPair = this.key): Frame {
    const now = Date.now();
    const frame = { type: 'control', app_id: appId, action, correlation_id: randomUUID(), payload, issued_at: now, expires_at: now + 60_000 };
    return signFrame(frame, privateKeyObject(signer.secretKey));
  }

  config(overrides: Partial<TrailsConfig> = {}): TrailsConfig {
    return { v: 1, appId: randomUUID(), parentId: null, appName: 'unit', serverEp: 'ws://gateway.test:8443', serverPubKey: this.publicKeyText, secLevel: 'open', roleRefs: [], ...overrides };
  }

  private onFrame(s: MemorySocket, f: Frame): void {
    this.log.push({ socket: s, frame: f });
    if (this.intercept?.(f, s)) return;
    switch (f.type) {
      case 'register': {
        if (!this.autoRegister) return;
        const app = this.apps.get(f.app_id) ?? { lastSeq: 0, secLevel: f.sec_level ?? 'open', stored: new Map() };
        this.apps.set(f.app_id, app);
        return s.push(this.registered(f.app_id, app.lastSeq, f.sec_level));
      }
      case 're_register': {
        if (!this.autoRegister) return;
        const app = this.apps.get(f.app_id);
        if (!app) return s.push({ type: 'error', code: 'registration_failed', message: 'unknown app; send register', app_id: f.app_id });
        return s.push(this.registered(f.app_id, app.lastSeq, app.secLevel));
      }
      case 'message': {
        if (!this.autoAck) return;
        this.ack(s, f);
        return;
      }
    }
  }

  /** Stores (once) and acks a message frame, as the gateway does. */
  ack(s: MemorySocket, f: Frame): void {
    const app = this.apps.get(f.app_id)!;
    const seq = f.header.seq as number;
    const duplicate = app.stored.has(seq);
    if (!duplicate) app.stored.set(seq, JSON.stringify(f.payload));
    app.lastSeq = Math.max(app.lastSeq, seq);
    s.push({ type: 'ack', seq, app_id: f.app_id, ...(duplicate ? { duplicate: true } : {}) });
  }

  registered(appId: string, lastSeq: number, secLevel: string): Frame {
    const frame = { type: 'registered', app_id: appId, server_pub_key: this.publicKeyText, last_seq: lastSeq, sec_level: secLevel };
    // As the real gateway: signed and full apps get a registered frame signed by the gateway key.
    return secLevel === 'open' ? frame : signFrame(frame, privateKeyObject(this.key.secretKey));
  }
}

export const quiet = { logger: silentLogger, random: () => 0, backoff: { baseMs: 5, maxMs: 50 } };

/** Lets queued microtasks and short timers run. */
export const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds (or fails the test after `timeoutMs`). */
export async function until(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}
