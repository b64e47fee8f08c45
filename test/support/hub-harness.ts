/**
 * The device hub with in-memory twins for everything it touches: a memory
 * store, a manual clock, and connections that record what they are sent.
 * Writes commit when the test calls `commit()`, so the order of "accepted"
 * and "durable" is under the test's control.
 */
import { DeviceHub } from '../../gateway/device/hub.js';
import type { VerifyPool } from '../../gateway/crypto/verify-pool.js';
import type { HubOptions } from '../../gateway/device/hub-types.js';
import { GroupCommitter } from '../../gateway/device/group-commit.js';
import { ServerIdentity } from '../../gateway/device/server-identity.js';
import type { Connection } from '../../gateway/device/connection.js';
import { EventBus, type GatewayEvent } from '../../gateway/events.js';
import { generateKeyPair, privateKeyObject, type Ed25519KeyPair } from '../../gateway/crypto/ed25519.js';
import { ManualClock } from '../../gateway/ports/manual-clock.js';
import type { ServerFrame } from '../../protocol/frames.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { signFrame } from '../../gateway/crypto/frame-signing.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import type { GatewayStore } from '../../gateway/store/types.js';

export class FakeConnection implements Connection {
  static next = 1;
  readonly id = FakeConnection.next++;
  readonly sent: ServerFrame[] = [];
  readonly binary: Uint8Array[] = [];
  closed?: { code: number; reason: string };

  constructor(private readonly hub: DeviceHub, readonly secure = false, readonly remote = '127.0.0.1', readonly joinToken?: string) {}

  send(frame: ServerFrame): void {
    this.sent.push(frame);
  }

  sendBinary(data: Uint8Array): void {
    this.binary.push(data);
  }

  /** Sends a binary (sealed) frame from the device. */
  sealedFrame(data: Uint8Array): void {
    this.hub.onBinary(this, data);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = { code, reason };
    this.hub.onClose(this);
  }

  /** Sends a frame object (or raw text) from the device. */
  frame(f: object | string): void {
    this.hub.onText(this, typeof f === 'string' ? f : JSON.stringify(f));
  }

  /** The peer vanished without a close frame. */
  drop(): void {
    this.closed = { code: 1006, reason: 'dropped' };
    this.hub.onClose(this);
  }

  last(): ServerFrame | undefined {
    return this.sent[this.sent.length - 1];
  }

  ofType<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.sent.filter((f) => f.type === type) as Array<Extract<ServerFrame, { type: T }>>;
  }
}

export interface Harness {
  hub: DeviceHub;
  store: GatewayStore;
  clock: ManualClock;
  committer: GroupCommitter;
  identity: ServerIdentity;
  serverKeys: Ed25519KeyPair;
  events: GatewayEvent[];
  connect(secure?: boolean): FakeConnection;
  /** A connection whose upgrade URL carried ?join=TOKEN (the registration gate). */
  connectJoin(joinToken: string, remote?: string): FakeConnection;
  /** A new connection on which `d` has registered (and the registration is committed). */
  registered(d?: Device): { c: FakeConnection; d: Device };
  commit(): void;
}

export function makeHarness(options: Partial<HubOptions> = {}, store: GatewayStore = new MemoryStore(), verifier?: VerifyPool): Harness {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
  const committer = new GroupCommitter(store);
  const serverKeys = generateKeyPair();
  const identity = new ServerIdentity(serverKeys);
  const bus = new EventBus();
  const events: GatewayEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const hub = new DeviceHub({ store, committer, clock, events: bus, identity, ...(verifier ? { verifier } : {}), options: { serverInstance: 'test-gw', ...options } });
  hub.start();
  return {
    hub,
    store,
    clock,
    committer,
    identity,
    serverKeys,
    events,
    connect(secure = false) {
      const c = new FakeConnection(hub, secure);
      hub.onOpen(c);
      return c;
    },
    connectJoin(joinToken: string, remote = '127.0.0.1') {
      const c = new FakeConnection(hub, false, remote, joinToken);
      hub.onOpen(c);
      return c;
    },
    registered(d = new Device()) {
      const c = this.connect();
      c.frame(d.register());
      this.commit();
      return { c, d };
    },
    commit: () => committer.flush(),
  };
}

/** A simulated device identity that builds (and in signed tiers signs) its frames. */
export class Device {
  readonly keys = generateKeyPair();
  readonly pubKey = encodePublicKey(this.keys.publicKey);
  seq = 0;
  private ts: number;

  constructor(
    readonly appId: string = crypto.randomUUID(),
    readonly tier: 'open' | 'signed' | 'encrypted' | 'full' = 'open',
    readonly parentId: string | null = null,
    now = Date.UTC(2026, 10, 22, 12),
  ) {
    this.ts = now;
  }

  register(extra: object = {}): object {
    return this.seal({ type: 'register', app_id: this.appId, parent_id: this.parentId, app_name: 'dev', child_pub_key: this.pubKey, process_info: { pid: 1, namespace: 'home' }, role_refs: [], sec_level: this.tier, timestamp: this.tick(), ...extra });
  }

  reRegister(extra: object = {}): object {
    return this.seal({ type: 're_register', app_id: this.appId, last_seq: this.seq, pub_key: this.pubKey, timestamp: this.tick(), ...extra });
  }

  message(payload: unknown, msgType: 'Status' | 'Result' | 'Error' = 'Status', seq = ++this.seq): object {
    return this.seal({ type: 'message', app_id: this.appId, header: { msg_type: msgType, timestamp: this.ts, seq, correlation_id: null }, payload });
  }

  disconnect(reason = 'completed'): object {
    return this.seal({ type: 'disconnect', app_id: this.appId, reason, timestamp: this.tick() });
  }

  controlResponse(correlationId: string, body: object): object {
    return this.seal({ type: 'control_response', app_id: this.appId, correlation_id: correlationId, timestamp: this.tick(), ...body });
  }

  /** Signs unless open; open frames carry sig: null like the reference clients. */
  seal(frame: object): object {
    return this.tier === 'open' ? { ...frame, sig: null } : signFrame(frame, privateKeyObject(this.keys.secretKey));
  }

  private tick(): number {
    return ++this.ts;
  }
}
