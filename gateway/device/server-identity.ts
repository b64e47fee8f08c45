/**
 * The gateway's long-lived Ed25519 identity: devices pin its public key
 * (serverPubKey in TRAILS_INFO) and verify every control frame against it.
 * Loading it from disk is keys/key-file.ts; this is the in-memory form.
 */
import type { KeyObject } from 'node:crypto';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { privateKeyObject } from '../crypto/ed25519.js';
import { encodePublicKey } from '../protocol/keys.js';
import { signFrame } from '../protocol/signing.js';
import { edSecretToX25519 } from '../crypto/x25519.js';

export class ServerIdentity {
  readonly publicKeyText: string;
  /** The identity as X25519 (RFC 7748 map), for the encrypted tier's key agreement. */
  readonly x25519Secret: Uint8Array;
  private readonly key: KeyObject;

  constructor(pair: Ed25519KeyPair) {
    this.publicKeyText = encodePublicKey(pair.publicKey);
    this.key = privateKeyObject(pair.secretKey);
    this.x25519Secret = edSecretToX25519(pair.secretKey);
  }

  sign<T extends object>(frame: T): T & { sig: string } {
    return signFrame(frame, this.key);
  }
}
