/**
 * Simulated devices on real sockets: several apps multiplexed on one
 * WebSocket (spec §18), each registering with its own key and answering
 * controls as the test tells it: answer at once, never, or with ack:false.
 */
import WebSocket from 'ws';
import { generateKeyPair, privateKeyObject, type Ed25519KeyPair } from '../../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../../protocol/keys.js';
import { signFrame } from '../../../gateway/crypto/frame-signing.js';

export type ControlBehaviour = 'answer' | 'silent' | 'refuse';

export interface SimApp {
  appId: string;
  parentId: string | null;
  name: string;
  key: Ed25519KeyPair;
  pubKey: string;
  seq: number;
  behaviour: ControlBehaviour;
  controls: Array<{ action: string; correlation_id: string; payload: unknown; at: number }>;
  namespace?: string;
}

export function simApp(parentId: string | null, name = 'sim', behaviour: ControlBehaviour = 'answer', namespace = 'home'): SimApp {
  const key = generateKeyPair();
  return { appId: crypto.randomUUID(), parentId, name, key, pubKey: encodePublicKey(key.publicKey), seq: 0, behaviour, controls: [], namespace };
}

/** One socket carrying many apps; frames are signed (signed tier) so the apps can also sign API calls. */
export class SimLink {
  readonly apps = new Map<string, SimApp>();
  readonly received: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<{ match: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }> = [];
  acks = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(JSON.parse(String(data)) as Record<string, unknown>));
  }

  static async open(url: string): Promise<SimLink> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    return new SimLink(ws);
  }

  /** Registers the app and resolves with the gateway's answer (registered or error). */
  register(app: SimApp): Promise<Record<string, unknown>> {
    this.apps.set(app.appId, app);
    const frame = { type: 'register', app_id: app.appId, parent_id: app.parentId, app_name: app.name, child_pub_key: app.pubKey, process_info: { pid: 1, namespace: app.namespace ?? null }, role_refs: [], sec_level: 'signed', timestamp: Date.now() };
    this.send(app, frame);
    return this.next((f) => f.app_id === app.appId && (f.type === 'registered' || f.type === 'error'));
  }

  status(app: SimApp, payload: unknown, msgType: 'Status' | 'Result' | 'Error' = 'Status'): number {
    const seq = ++app.seq;
    this.send(app, { type: 'message', app_id: app.appId, header: { msg_type: msgType, timestamp: Date.now(), seq, correlation_id: null }, payload });
    return seq;
  }

  next(match: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): void {
    this.ws.terminate();
  }

  private send(app: SimApp, frame: object): void {
    this.ws.send(JSON.stringify(signFrame(frame, privateKeyObject(app.key.secretKey))));
  }

  private onFrame(f: Record<string, unknown>): void {
    if (f.type === 'ack') this.acks++;
    else this.received.push(f);
    if (f.type === 'control') this.onControl(f);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.match(f)) {
        this.waiters.splice(i, 1);
        w.resolve(f);
      }
    }
  }

  private onControl(f: Record<string, unknown>): void {
    const app = this.apps.get(String(f.app_id));
    if (!app) return;
    app.controls.push({ action: String(f.action), correlation_id: String(f.correlation_id), payload: f.payload, at: performance.now() });
    if (app.behaviour === 'silent') return;
    const ack = app.behaviour === 'answer';
    const body = ack ? { ack: true, result: { cancelled: f.action === 'cancel', action: f.action } } : { ack: false, error: 'refused' };
    this.send(app, { type: 'control_response', app_id: app.appId, correlation_id: f.correlation_id, timestamp: Date.now(), ...body });
  }
}
