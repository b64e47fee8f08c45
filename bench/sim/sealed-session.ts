/**
 * The device side of the encrypted tier (docs/PROTOCOL.md "Encrypted tier")
 * for the load generator: a fresh ephemeral X25519 key per register, the
 * gateway's signed `registered` checked against the pinned gateway key, then
 * one SealedChannel (the gateway's own code) per socket. Every seal and open
 * is timed into `clock.cryptoSec` (the fleet's counters), so a bench can tell
 * how much of the generator's CPU went to encryption.
 */
import type { KeyObject } from 'node:crypto';
import { edPublicToX25519, edSecretToX25519, generateX25519, type X25519KeyPair } from '../../gateway/crypto/x25519.js';
import { decodeX25519, encodeX25519 } from '../../gateway/device/encrypted.js';
import { clientSessionKeys, SealedChannel } from '../../gateway/crypto/sealed.js';
import { verifyFrame } from '../../gateway/crypto/frame-signing.js';

export interface GatewayPin {
  /** The gateway key as text (ed25519:...), as /healthz reports it. */
  text: string;
  raw: Uint8Array;
  key: KeyObject;
}

export class SealedSession {
  private eph: X25519KeyPair | undefined;
  private channel: SealedChannel | undefined;

  constructor(
    private readonly appId: string,
    private readonly seed: Uint8Array,
    private readonly gateway: GatewayPin,
    private readonly clock: { cryptoSec: number },
  ) {}

  get established(): boolean {
    return this.channel !== undefined;
  }

  /** A new handshake: drops the session, returns child_ephemeral for the register. */
  begin(): string {
    this.channel = undefined;
    this.eph = generateX25519();
    return encodeX25519(this.eph.publicKey);
  }

  /** Derives the session from the gateway's `registered`; an error says why it is not genuine. */
  complete(f: Record<string, unknown>): void {
    const eph = this.eph;
    if (!eph) throw new Error('registered without a handshake in progress');
    this.eph = undefined;
    try {
      if (f.server_pub_key !== this.gateway.text) throw new Error(`registered names another gateway key: ${String(f.server_pub_key)}`);
      if (f.child_ephemeral !== encodeX25519(eph.publicKey)) throw new Error('registered does not echo our ephemeral key');
      if (!verifyFrame(f, this.gateway.key)) throw new Error('registered: the gateway signature does not verify');
      const peerEphemeral = decodeX25519(f.server_ephemeral);
      if (!peerEphemeral) throw new Error('registered: no valid server_ephemeral');
      const keys = clientSessionKeys({
        appId: this.appId,
        ephemeralSecret: eph.secretKey,
        staticSecret: edSecretToX25519(this.seed),
        peerEphemeral,
        peerStatic: edPublicToX25519(this.gateway.raw),
      });
      this.channel = new SealedChannel(keys);
    } finally {
      eph.secretKey.fill(0);
    }
  }

  /** The next binary frame of this socket: call in send order (the channel's seq rises by one each). */
  seal(text: string): Buffer {
    const t0 = performance.now();
    const out = this.channel!.seal(Buffer.from(text, 'utf8'));
    this.clock.cryptoSec += (performance.now() - t0) / 1000;
    return out;
  }

  /** The JSON text of a binary frame from the gateway, or the reason it did not open. */
  open(data: Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
    if (!this.channel) return { ok: false, reason: 'no_session' };
    const t0 = performance.now();
    const r = this.channel.open(data);
    this.clock.cryptoSec += (performance.now() - t0) / 1000;
    return r.ok ? { ok: true, text: r.plaintext.toString('utf8') } : { ok: false, reason: r.reason };
  }

  /** The socket is gone: its keys go with it. */
  reset(): void {
    this.channel = undefined;
    this.eph?.secretKey.fill(0);
    this.eph = undefined;
  }
}
