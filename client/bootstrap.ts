/**
 * A device's whole life (addendum 0 §A0.3): first contact in bootstrap mode,
 * claim, provision, operation, key rotation, migration to another gateway,
 * re-parenting. Its identity (Ed25519 seed) and its current config live in a
 * ConfigStore standing in for NVS, so a restart resumes where it was: with a
 * stored config the device operates, without one it makes first contact.
 *
 * Operation is a TrailsClient per (config, gateway); moving (migrate, or a
 * provision to another gateway) builds a new client for the new gateway and,
 * if it cannot register there within a bounded number of attempts and time,
 * goes back to the old gateway and config and re_registers there. The new
 * config is stored only once the new gateway accepted it, so not even a
 * power cut mid-move can strand the device.
 */
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import { clientCrypto, signFrame } from './crypto.js';
import type { DeviceInfo, MigratePayload, ProvisionPayload } from '../protocol/bootstrap-frames.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { BootstrapInfo } from './bootstrap-config.js';
import { TrailsClient, type ClientOptions } from './client.js';
import { toWsUrl, validateConfig, type TrailsConfig } from './config.js';
import type { ControlAnswer, ControlHandler } from './controls.js';
import { TypedEmitter } from './events.js';
import { FirstContact } from './first-contact.js';
import { waitRegistered, type MoveBounds } from './move.js';
import type { OutboxEntry } from './outbox.js';
import { consoleLogger, safeLogger, type TrailsLogger } from './log.js';
import type { ConfigStore } from './nvs-store.js';
import { configFromProvision, DeviceSystemActions, type RotateKeys } from './system-actions.js';
import { wsTransport, type Transport } from './transport.js';
import { DEFAULT_ROTATION_SKEW_MS, KeyTrust, type KeySchedule } from './trust.js';

export type DevicePhase = 'idle' | 'first_contact' | 'operating' | 'moving' | 'stopped';

export interface DeviceEvents {
  phase: { phase: DevicePhase };
  pending: { expiresAt: number };
  provisioned: { appId: string; parentId: string | null; serverEp: string };
  operating: { appId: string; serverEp: string; resumed: boolean };
  keys_scheduled: RotateKeys;
  keys_switched: { serverPubKey: string; parentPubKey: string | null };
  device_key_switched: { publicKey: string };
  moved: { kind: 'migrate' | 'provision'; from: string; to: string };
  move_failed: { kind: 'migrate' | 'provision'; to: string; reason: string };
  refused: { action: string; reason: string };
}

export interface BootstrapDeviceOptions {
  store: ConfigStore;
  /** The burned-in bootstrap config (TRAILS_INFO, mode bootstrap). */
  info: BootstrapInfo;
  device: DeviceInfo;
  transport?: Transport;
  logger?: TrailsLogger;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
  now?: () => number;
  /** Bounds of a move to another gateway before the device goes back (default 3 failed sockets or 15 s). */
  move?: MoveBounds;
  rotationSkewMs?: number;
  /** Extra options for the operating TrailsClient (rate, window, ...). */
  client?: Omit<ClientOptions, 'keyPair' | 'transport' | 'lifecycle' | 'logger' | 'backoff' | 'random' | 'now'>;
}

/** ConfigStore keys. */
const K = { identity: 'identity', nextIdentity: 'next_identity', config: 'config', serverKeys: 'server_keys', parentKeys: 'parent_keys', seq: 'seq', registered: 'registered_at' } as const;

export class BootstrapDevice {
  readonly events = new TypedEmitter<DeviceEvents>();
  /** The device's identity; replaced at the effectiveAfter of a rotate_keys with newDeviceKey. */
  keyPair: Ed25519KeyPair;
  private readonly log: TrailsLogger;
  private readonly now: () => number;
  private readonly backoff: BackoffOptions;
  private readonly transport: Transport;
  private readonly skewMs: number;
  private _phase: DevicePhase = 'idle';
  private first: FirstContact | null = null;
  private current: TrailsClient | null = null;
  private cfg: TrailsConfig | null = null;
  private serverKeys: KeyTrust | null = null;
  private parentKeys: KeyTrust | null = null;
  private switchTimer: NodeJS.Timeout | null = null;
  private readonly system: DeviceSystemActions;
  /** The app's own control handlers, given to every client the device runs (one per gateway and config). */
  private readonly handlers = new Map<string, ControlHandler>();

  constructor(private readonly o: BootstrapDeviceOptions) {
    this.log = safeLogger(o.logger ?? consoleLogger);
    this.now = o.now ?? Date.now;
    this.backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    this.transport = o.transport ?? wsTransport();
    this.skewMs = o.rotationSkewMs ?? DEFAULT_ROTATION_SKEW_MS;
    this.keyPair = loadIdentity(o.store);
    this.system = new DeviceSystemActions({
      myKey: () => this.publicKey, now: this.now, skewMs: this.skewMs,
      provision: (p, answer) => this.onProvision(p, answer),
      rotateKeys: (r, answer) => this.onRotate(r, answer),
      migrate: (m, answer) => this.onMigrate(m, answer),
      refused: (action, reason) => this.refused(action, reason),
    });
  }

  get publicKey(): string {
    return `ed25519:${Buffer.from(this.keyPair.publicKey).toString('base64')}`;
  }

  get phase(): DevicePhase {
    return this._phase;
  }

  /** The operating config (null before the first provision). */
  get config(): TrailsConfig | null {
    return this.cfg ? { ...this.cfg } : null;
  }

  get client(): TrailsClient | null {
    return this.current;
  }

  get firstContact(): FirstContact | null {
    return this.first;
  }

  /** Operates with the stored config, or makes first contact when there is none. */
  start(): void {
    const stored = this.o.store.get<TrailsConfig>(K.config);
    if (!stored) return this.startFirstContact();
    this.cfg = validateConfig(stored);
    this.serverKeys = this.trust(this.o.store.get<KeySchedule>(K.serverKeys) ?? { current: this.cfg.serverPubKey! });
    this.parentKeys = this.trust(this.o.store.get<KeySchedule>(K.parentKeys) ?? { current: this.cfg.parentPubKey ?? this.o.info.parentPubKey });
    this.armSwitch();
    this.operate(this.cfg, this.o.store.get<string>(K.registered) === placeOf(this.cfg));
  }

  /** A Status through the operating client; false while there is none (first contact, between gateways). */
  status(payload: unknown): boolean {
    if (!this.current || this._phase !== 'operating') return false;
    this.current.status(payload);
    return true;
  }

  /** Handles a control action of the app (system actions never reach it); kept across moves and re-provisioning. */
  on(action: string, handler: ControlHandler): this {
    this.handlers.set(action, handler);
    this.current?.on(action, handler);
    return this;
  }

  /** Power off: leaves without a disconnect (the app is not over), keeping what it knows. */
  stop(): void {
    this.setPhase('stopped');
    if (this.switchTimer) clearTimeout(this.switchTimer);
    this.first?.stop();
    this.leave('device stopped');
  }

  // ── first contact ─────────────────────────────────────────────────

  private startFirstContact(): void {
    this.setPhase('first_contact');
    this.first = new FirstContact({
      info: this.o.info, device: this.o.device, keyPair: this.keyPair, transport: this.transport, log: this.log,
      backoff: this.backoff, random: this.o.random ?? Math.random, now: this.now,
      onPending: (expiresAt) => this.events.emit('pending', { expiresAt }),
      onProvision: (p) => {
        // Stored before the ack: a device that acked must have its config on flash.
        const cfg = configFromProvision(p, { serverEp: this.o.info.serverEp, parentPubKey: this.o.info.parentPubKey });
        this.install(cfg);
        this.events.emit('provisioned', { appId: cfg.appId, parentId: cfg.parentId, serverEp: cfg.serverEp });
        setImmediate(() => this._phase !== 'stopped' && void this.operateProvisioned(cfg));
        return true;
      },
      onRefused: (reason) => this.refused('provision', reason),
    });
    this.first.start();
  }

  // ── operating ─────────────────────────────────────────────────────

  /**
   * The first config a claim gave. When it names another server the device
   * tries it within the move bounds; if it cannot register there it forgets
   * that config and makes first contact again, where the provision is owed
   * to it once more: a wrong or unreachable serverEp never bricks a device.
   */
  private async operateProvisioned(cfg: TrailsConfig): Promise<void> {
    const client = this.operate(cfg, false);
    if (toWsUrl(cfg.serverEp) === toWsUrl(this.o.info.serverEp)) return;
    const outcome = await waitRegistered(client, this.o.move);
    if (outcome === 'ok' || this._phase === 'stopped' || this.current !== client) return;
    this.log.warn(`could not register at ${cfg.serverEp} (${outcome}); back to first contact`);
    this.leave('provisioned server out of reach');
    this.cfg = null;
    this.o.store.delete(K.config);
    this.events.emit('move_failed', { kind: 'provision', to: cfg.serverEp, reason: outcome });
    this.startFirstContact();
  }

  private operate(cfg: TrailsConfig, resume: boolean, keys: KeyTrust = this.serverKeys!): TrailsClient {
    this.setPhase('operating');
    const client = this.makeClient(cfg, keys, resume);
    this.current = client;
    return client;
  }

  private makeClient(cfg: TrailsConfig, keys: KeyTrust, resume: boolean): TrailsClient {
    const client = TrailsClient.initWith(cfg, {
      ...this.o.client,
      keyPair: this.keyPair, transport: this.transport, logger: this.log, backoff: this.backoff, now: this.now,
      ...(this.o.random ? { random: this.o.random } : {}),
      lifecycle: { startSeq: this.o.store.get<number>(K.seq) ?? 0, resume, verifyServer: (f) => keys.verify(f), system: this.system },
    });
    for (const [action, h] of this.handlers) client.on(action, h);
    client.events.on('registered', (e) => {
      if (this.current !== client) return;
      this.o.store.set(K.registered, placeOf(cfg));
      this.events.emit('operating', { appId: cfg.appId, serverEp: cfg.serverEp, resumed: e.resumed });
    });
    return client;
  }

  /** Closes the operating socket without a disconnect and remembers how far the numbering got. */
  /** Leaves the operating socket without a disconnect; returns the unacked messages for the next client of the app. */
  private leave(why: string): OutboxEntry[] {
    const c = this.current;
    this.current = null;
    if (!c) return [];
    this.o.store.set(K.seq, Math.max(c.seq, this.o.store.get<number>(K.seq) ?? 0));
    return c.handOver(why);
  }

  // ── system actions ────────────────────────────────────────────────

  private onProvision(p: ProvisionPayload, answer: (a: ControlAnswer) => boolean): void {
    const from = this.cfg!;
    const cfg = configFromProvision(p, { serverEp: from.serverEp, parentPubKey: this.parentKeys!.primary });
    const sameGateway = toWsUrl(cfg.serverEp) === toWsUrl(from.serverEp);
    if (sameGateway) this.install(cfg);
    answer({ ack: true, result: { stored: sameGateway, appId: cfg.appId, parentId: cfg.parentId } });
    this.events.emit('provisioned', { appId: cfg.appId, parentId: cfg.parentId, serverEp: cfg.serverEp });
    // After this turn, so the answer leaves on the old socket first.
    setImmediate(() => {
      if (this._phase === 'stopped') return;
      if (!sameGateway) return void this.moveTo('provision', cfg);
      this.leave('re-provisioned');
      this.operate(cfg, cfg.appId === from.appId);
    });
  }

  private onRotate(r: RotateKeys, answer: (a: ControlAnswer) => boolean): void {
    if (r.newServerPubKey) this.serverKeys!.schedule(r.newServerPubKey, r.effectiveAfter);
    if (r.newParentPubKey) this.parentKeys!.schedule(r.newParentPubKey, r.effectiveAfter);
    this.saveKeys();
    // A new identity of our own: kept (NVS) beside the old one until effectiveAfter, announced in the answer.
    const next = r.newDeviceKey ? clientCrypto.ed25519.generateKeyPair() : undefined;
    if (next) this.o.store.set(K.nextIdentity, { seed: Buffer.from(next.secretKey).toString('base64'), effectiveAfter: r.effectiveAfter });
    const newChildPubKey = next ? `ed25519:${Buffer.from(next.publicKey).toString('base64')}` : undefined;
    answer({ ack: true, result: { effectiveAfter: new Date(r.effectiveAfter).toISOString(), ...(newChildPubKey ? { newChildPubKey } : {}) } });
    this.events.emit('keys_scheduled', r);
    this.armSwitch();
  }

  private onMigrate(m: MigratePayload, answer: (a: ControlAnswer) => boolean): void {
    answer({ ack: true, result: { leaving_for: m.newServerEp } });
    setImmediate(() => this._phase !== 'stopped' && void this.moveTo('migrate', { ...this.cfg!, serverEp: m.newServerEp, serverPubKey: m.newServerPubKey }));
  }

  /**
   * To another gateway, bounded: the new config is installed only once the
   * new gateway registered the app; otherwise back to the old one (re_register).
   */
  private async moveTo(kind: 'migrate' | 'provision', cfg: TrailsConfig): Promise<void> {
    const old = this.cfg!;
    const oldKeys = this.serverKeys!;
    // Messages the old gateway had not acked yet travel with the device (same app, same key, same seqs).
    const carried = this.leave(`moving to ${cfg.serverEp}`);
    this.setPhase('moving');
    const keys = this.trust({ current: cfg.serverPubKey! });
    const trial = this.makeClient(cfg, keys, false);
    this.current = trial;
    trial.adopt(carried);
    const outcome = await waitRegistered(trial, this.o.move);
    if (this._phase === 'stopped') return trial.abandon('device stopped');
    if (outcome === 'ok') {
      this.serverKeys = keys;
      this.install(cfg);
      this.o.store.set(K.registered, placeOf(cfg));
      this.setPhase('operating');
      this.events.emit('moved', { kind, from: old.serverEp, to: cfg.serverEp });
      return;
    }
    this.log.warn(`could not register at ${cfg.serverEp} (${outcome}); going back to ${old.serverEp}`);
    const back = this.leave('move failed');
    this.serverKeys = oldKeys;
    this.operate(old, true, oldKeys).adopt(back);
    this.events.emit('move_failed', { kind, to: cfg.serverEp, reason: outcome });
  }

  // ── keys and storage ──────────────────────────────────────────────

  /** A timer at the end of the rotation window: from then on only the new keys, and the config names them. */
  private armSwitch(): void {
    if (this.switchTimer) clearTimeout(this.switchTimer);
    const due = [this.serverKeys?.snapshot.next, this.parentKeys?.snapshot.next].filter((n) => n).map((n) => n!.effectiveAfter + this.skewMs + 1);
    const nextId = this.o.store.get<{ effectiveAfter: number }>(K.nextIdentity);
    if (nextId) due.push(nextId.effectiveAfter + 1);
    if (due.length === 0) return;
    this.switchTimer = setTimeout(() => this.settleKeys(), Math.max(0, Math.min(...due) - this.now()));
    this.switchTimer.unref?.();
  }

  /**
   * From effectiveAfter the device is its new key: it stores it as its
   * identity and re-registers with it; the messages not yet acked are signed
   * again with the new key and go first.
   */
  private switchIdentity(): void {
    const next = this.o.store.get<{ seed: string; effectiveAfter: number }>(K.nextIdentity);
    if (!next || this.now() < next.effectiveAfter) return;
    this.keyPair = clientCrypto.ed25519.keyPairFromSeed(new Uint8Array(Buffer.from(next.seed, 'base64')));
    this.o.store.set(K.identity, { seed: next.seed });
    this.o.store.delete(K.nextIdentity);
    this.events.emit('device_key_switched', { publicKey: this.publicKey });
    if (this._phase !== 'operating' || !this.cfg) return;
    const carried = resign(this.leave('new device key'), this.keyPair);
    this.operate(this.cfg, true).adopt(carried);
  }

  private settleKeys(): void {
    this.switchTimer = null;
    this.switchIdentity();
    const changed = [this.serverKeys?.settle(), this.parentKeys?.settle()].some(Boolean);
    if (changed && this.cfg) {
      this.install({ ...this.cfg, serverPubKey: this.serverKeys!.primary, parentPubKey: this.parentKeys!.primary });
      this.events.emit('keys_switched', { serverPubKey: this.serverKeys!.primary, parentPubKey: this.parentKeys!.primary });
    }
    this.armSwitch();
  }

  /** Makes `cfg` the device's config, on flash first. */
  private install(cfg: TrailsConfig): void {
    this.cfg = cfg;
    this.serverKeys ??= this.trust({ current: cfg.serverPubKey! });
    this.parentKeys ??= this.trust({ current: cfg.parentPubKey ?? this.o.info.parentPubKey });
    if (this.serverKeys.primary !== cfg.serverPubKey) this.serverKeys = this.trust({ current: cfg.serverPubKey! });
    if (cfg.parentPubKey && this.parentKeys.primary !== cfg.parentPubKey) this.parentKeys = this.trust({ current: cfg.parentPubKey });
    this.o.store.set(K.config, cfg);
    this.saveKeys();
  }

  private saveKeys(): void {
    if (this.serverKeys) this.o.store.set(K.serverKeys, this.serverKeys.snapshot);
    if (this.parentKeys) this.o.store.set(K.parentKeys, this.parentKeys.snapshot);
  }

  private trust(s: KeySchedule): KeyTrust {
    return new KeyTrust(s, this.now, this.skewMs);
  }

  private refused(action: string, reason: string): void {
    this.log.warn(`${action} refused: ${reason}`);
    this.events.emit('refused', { action, reason });
  }

  private setPhase(phase: DevicePhase): void {
    if (this._phase === phase || this._phase === 'stopped') return;
    this._phase = phase;
    this.events.emit('phase', { phase });
  }
}

/** The device's identity: made once, kept in the store (the one secret it has). */
function loadIdentity(store: ConfigStore): Ed25519KeyPair {
  const stored = store.get<{ seed: string }>(K.identity);
  if (stored) return clientCrypto.ed25519.keyPairFromSeed(new Uint8Array(Buffer.from(stored.seed, 'base64')));
  const pair = clientCrypto.ed25519.generateKeyPair();
  store.set(K.identity, { seed: Buffer.from(pair.secretKey).toString('base64') });
  return pair;
}

/** Where an app is registered: which app at which gateway (resume there, register elsewhere). */
function placeOf(cfg: TrailsConfig): string {
  return `${cfg.appId}@${toWsUrl(cfg.serverEp)}`;
}

/** Frames queued under the old identity, signed again with the new one (seqs and payloads unchanged). */
function resign(entries: OutboxEntry[], pair: Ed25519KeyPair): OutboxEntry[] {
  const key = clientCrypto.ed25519.signingKey(pair.secretKey);
  return entries.map((e) => {
    const frame = JSON.parse(e.text) as Record<string, unknown>;
    if (typeof frame.sig !== 'string') return e;
    const { sig: _old, ...rest } = frame;
    return { ...e, text: JSON.stringify(signFrame(rest, key)) };
  });
}
