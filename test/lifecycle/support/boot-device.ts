/** A factory-fresh device for hub tests: builds its signed bootstrap_register and answers. */
import { generateKeyPair, privateKeyObject, type Ed25519KeyPair } from '../../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../../protocol/keys.js';
import { signFrame } from '../../../gateway/crypto/frame-signing.js';

let macCounter = 1;

export function nextMac(): string {
  const n = macCounter++;
  return `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`.toUpperCase();
}

export class BootDevice {
  readonly keys: Ed25519KeyPair;
  readonly pubKey: string;
  private ts: number;

  constructor(
    readonly parentPubKey: string,
    readonly mac: string = nextMac(),
    now: number = Date.now(),
    keys: Ed25519KeyPair = generateKeyPair(),
  ) {
    this.keys = keys;
    this.pubKey = encodePublicKey(keys.publicKey);
    this.ts = now;
  }

  bootstrapRegister(over: Record<string, unknown> = {}): Record<string, unknown> {
    const frame = {
      type: 'bootstrap_register', child_pub_key: this.pubKey, parent_pub_key: this.parentPubKey,
      device_info: { chip: 'ESP32-S3', mac: this.mac, firmware: 'v1.0.3', flash_id: 'c84017' }, timestamp: ++this.ts, ...over,
    };
    return this.sign(frame);
  }

  controlResponse(appId: string, correlationId: string, ack = true): Record<string, unknown> {
    return this.sign({ type: 'control_response', app_id: appId, correlation_id: correlationId, ack, result: { stored: ack }, timestamp: ++this.ts });
  }

  sign(frame: object): Record<string, unknown> {
    return signFrame(frame, privateKeyObject(this.keys.secretKey));
  }
}
