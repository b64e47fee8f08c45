/**
 * First contact of a factory-fresh device (addendum 0 §A0.3): one socket to
 * the bootstrap serverEp, a signed bootstrap_register, then wait there for
 * the provision. Everything from the gateway is verified against the
 * serverPubKey of the bootstrap config (the key the device pins); a
 * provision must name this device's own key. A refusal or a lost socket is
 * retried with backoff: the device never gives up on first contact.
 */
import type { Ed25519KeyPair } from '../protocol/crypto.js';
import type { DeviceInfo, ProvisionPayload } from '../protocol/bootstrap-frames.js';
import type { ControlFrame } from '../protocol/frames.js';
import { decodePublicKey, encodePublicKey } from '../protocol/keys.js';
import { clientCrypto, signFrame, verifyFrame, type SigningKey, type VerifyingKey } from './crypto.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { BootstrapInfo } from './bootstrap-config.js';
import { toWsUrl } from './config.js';
import type { TrailsLogger } from './log.js';
import { checkProvision } from './system-actions.js';
import type { Transport, TransportSocket } from './transport.js';

export interface FirstContactDeps {
  info: BootstrapInfo;
  device: DeviceInfo;
  keyPair: Ed25519KeyPair;
  transport: Transport;
  log: TrailsLogger;
  backoff: BackoffOptions;
  random: () => number;
  now: () => number;
  onPending(expiresAt: number): void;
  /** A verified provision for this device. Store it, then return true: the device acks and leaves. */
  onProvision(p: ProvisionPayload, frame: ControlFrame): boolean;
  onRefused(reason: string, frame: object): void;
}

/** Tolerated clock difference before a control counts as expired. */
const EXPIRY_SKEW_MS = 300_000;

export class FirstContact {
  readonly publicKeyText: string;
  private readonly key: SigningKey;
  private readonly serverKey: VerifyingKey;
  private socket: TransportSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastTs = 0;
  private finished = false;
  private readonly seen = new Set<string>();
  /** Sockets opened so far. */
  connects = 0;

  constructor(private readonly d: FirstContactDeps) {
    this.publicKeyText = encodePublicKey(d.keyPair.publicKey);
    this.key = clientCrypto.ed25519.signingKey(d.keyPair.secretKey);
    this.serverKey = clientCrypto.ed25519.verifyingKey(decodePublicKey(d.info.serverPubKey)!);
  }

  start(): void {
    this.connect();
  }

  /** Stops for good (the device was provisioned or is shutting down). */
  stop(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.close(1000, 'bootstrap done');
    this.socket = null;
  }

  private connect(): void {
    this.timer = null;
    if (this.finished) return;
    this.connects++;
    let mine: TransportSocket | null = null;
    const current = (): boolean => mine !== null && this.socket === mine;
    try {
      mine = this.socket = this.d.transport.open(toWsUrl(this.d.info.serverEp), {
        onOpen: () => current() && this.send(this.registerFrame()),
        onMessage: (text) => current() && this.onMessage(text),
        onClose: (code, reason) => {
          if (!current()) return;
          this.socket = null;
          this.d.log.info('bootstrap socket closed', { code, reason });
          this.retry();
        },
      });
    } catch (err) {
      this.d.log.warn('could not open the bootstrap socket', { err: String(err) });
      this.socket = null;
      this.retry();
    }
  }

  private retry(): void {
    if (this.finished || this.timer) return;
    const delay = backoffDelay(this.attempt++, this.d.random, this.d.backoff);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref?.();
  }

  private registerFrame(): object {
    const i = this.d.device;
    return this.sign({
      type: 'bootstrap_register', child_pub_key: this.publicKeyText, parent_pub_key: this.d.info.parentPubKey,
      device_info: { chip: i.chip, mac: i.mac, firmware: i.firmware, flash_id: i.flash_id }, timestamp: this.nextTs(),
    });
  }

  private onMessage(text: string): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.d.log.warn('bootstrap: gateway sent a frame that is not JSON; ignored');
    }
    if (f.type === 'error') return this.d.log.warn('bootstrap refused by the gateway', { code: f.code, message: f.message });
    if (f.type !== 'bootstrap_pending' && f.type !== 'control') return;
    // Only the gateway whose key is in the bootstrap config is believed.
    if (!verifyFrame(f, this.serverKey)) return this.d.onRefused('frame does not verify against the pinned serverPubKey', f);
    if (f.type === 'bootstrap_pending') {
      if (f.child_pub_key !== this.publicKeyText) return this.d.onRefused('bootstrap_pending names another device', f);
      this.attempt = 0;
      return this.d.onPending(Number(f.expires_at));
    }
    this.onControl(f as unknown as ControlFrame);
  }

  private onControl(f: ControlFrame): void {
    if (f.action !== 'provision') return this.d.onRefused(`only a provision is expected before claim, not ${f.action}`, f);
    if (this.seen.has(f.correlation_id)) return;
    if (typeof f.expires_at !== 'number' || f.expires_at + EXPIRY_SKEW_MS < this.d.now()) return this.d.onRefused('provision expired', f);
    const c = checkProvision(f, this.publicKeyText);
    // Not answered: a provision for another device was not sent to this one.
    if (!c.ok) return this.d.onRefused(c.reason, f);
    this.seen.add(f.correlation_id);
    if (!this.d.onProvision(c.value, f)) return;
    this.send(this.sign({ type: 'control_response', app_id: f.app_id, correlation_id: f.correlation_id, ack: true, result: { stored: true }, timestamp: this.nextTs() }));
    this.stop();
  }

  private send(frame: object): void {
    try {
      this.socket?.send(JSON.stringify(frame));
    } catch (err) {
      this.d.log.warn('bootstrap send failed', { err: String(err) });
    }
  }

  private sign(frame: object): object {
    return signFrame(frame, this.key);
  }

  /** Signed frames carry a timestamp the gateway requires to increase. */
  private nextTs(): number {
    this.lastTs = Math.max(this.d.now(), this.lastTs + 1);
    return this.lastTs;
  }
}
