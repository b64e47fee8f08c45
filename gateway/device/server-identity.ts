/**
 * The gateway's long-lived Ed25519 identity: devices pin its public key
 * (serverPubKey in TRAILS_INFO) and verify every control frame against it.
 * Loading it from disk is keys/key-file.ts (and keys/server-key-ring.ts for a
 * scheduled next key); this is the in-memory form.
 *
 * A key ring of two: the current key and, during a rotation (rotate_keys),
 * the next one with the moment it takes over. Everything the gateway signs
 * uses the key active at signing time, so devices that switch their pin at
 * the same moment see no gap (they accept both within a skew window).
 */
import type { KeyObject } from 'node:crypto';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { privateKeyObject } from '../crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { signFrame } from '../crypto/frame-signing.js';
import { edSecretToX25519 } from '../crypto/x25519.js';

interface KeySlot {
  publicKeyText: string;
  key: KeyObject;
  x25519Secret: Uint8Array;
}

function slot(pair: Ed25519KeyPair): KeySlot {
  return { publicKeyText: encodePublicKey(pair.publicKey), key: privateKeyObject(pair.secretKey), x25519Secret: edSecretToX25519(pair.secretKey) };
}

export class ServerIdentity {
  private current: KeySlot;
  private next?: KeySlot & { effectiveAfter: number };
  private now: () => number = Date.now;
  /** Called when a next key is scheduled, so it can be persisted (server.next.key) before anyone is told of it. */
  onScheduleNext?: (pair: Ed25519KeyPair, effectiveAfter: number) => void;

  constructor(pair: Ed25519KeyPair) {
    this.current = slot(pair);
  }

  /** The gateway's clock (a manual one in tests): it decides when the next key takes over. */
  useClock(now: () => number): void {
    this.now = now;
  }

  /** The active public key: what `registered` names and what signed frames verify with. */
  get publicKeyText(): string {
    return this.active().publicKeyText;
  }

  /** The active identity as X25519 (RFC 7748 map), for the encrypted tier's key agreement. */
  get x25519Secret(): Uint8Array {
    return this.active().x25519Secret;
  }

  /** The scheduled next key, while it has not taken over yet. */
  get nextKey(): { publicKeyText: string; effectiveAfter: number } | undefined {
    this.active();
    return this.next && { publicKeyText: this.next.publicKeyText, effectiveAfter: this.next.effectiveAfter };
  }

  /** Schedules `pair` to replace the current key at `effectiveAfter` (ms). A later call replaces an earlier schedule. */
  scheduleNext(pair: Ed25519KeyPair, effectiveAfter: number): void {
    this.onScheduleNext?.(pair, effectiveAfter);
    this.next = { ...slot(pair), effectiveAfter };
  }

  sign<T extends object>(frame: T): T & { sig: string } {
    return signFrame(frame, this.active().key);
  }

  /** The key in force now; a next key whose time has come is promoted for good. */
  private active(): KeySlot {
    if (this.next && this.now() >= this.next.effectiveAfter) {
      this.current = this.next;
      this.next = undefined;
    }
    return this.current;
  }
}
