/**
 * The encrypted tier's session (docs/PROTOCOL.md "Encrypted tier").
 *
 * Keys: both sides contribute an ephemeral X25519 pair at registration; the
 * input key material binds the ephemerals (forward secrecy) and both static
 * identities (their Ed25519 keys converted to X25519):
 *
 *   ikm   = X25519(e_c, E_g) || X25519(s_c, E_g) || X25519(e_c, S_g)
 *   okm   = HKDF-SHA256(ikm, salt = UTF-8(app_id), info = "trails-v1", 64 bytes)
 *   k_c2s = okm[0..32)   k_s2c = okm[32..64)
 *
 * One key per direction, so a sequence number used as a nonce is never used
 * twice under one key (the seed's one-key sketch would reuse nonces between
 * the two directions).
 *
 * Frames: [seq: 8 bytes big-endian][ciphertext][tag: 16 bytes], ChaCha20-
 * Poly1305 (RFC 8439) with nonce = 4 zero bytes || seq and the 8 seq bytes as
 * associated data. seq starts at 1 in each direction and goes up by exactly
 * one: anything else is a replay or a reorder and is refused.
 */
import { concatBytes, readU64BE, utf8, writeU64BE } from './bytes.js';
import type { TrailsCrypto } from './crypto.js';

export const SEALED_INFO = 'trails-v1';
const TAG = 16;
const HEADER = 8;

/** The part of TrailsCrypto the sealed tier uses. */
export type SealedCrypto = Pick<TrailsCrypto, 'x25519' | 'hkdfSha256' | 'chacha20Poly1305'>;

export interface HandshakeInput {
  appId: string;
  /** The client's ephemeral secret (client side) or the gateway's (gateway side). */
  ephemeralSecret: Uint8Array;
  /** The client's static X25519 secret (client side) or the gateway's (gateway side). */
  staticSecret: Uint8Array;
  peerEphemeral: Uint8Array;
  peerStatic: Uint8Array;
}

export interface SessionKeys {
  send: Uint8Array;
  receive: Uint8Array;
}

export function clientSessionKeys(h: HandshakeInput, crypto: SealedCrypto): SessionKeys {
  const dh = crypto.x25519.sharedSecret;
  const ikm = concatBytes(dh(h.ephemeralSecret, h.peerEphemeral), dh(h.staticSecret, h.peerEphemeral), dh(h.ephemeralSecret, h.peerStatic));
  const [c2s, s2c] = split(ikm, h.appId, crypto);
  return { send: c2s, receive: s2c };
}

export function gatewaySessionKeys(h: HandshakeInput, crypto: SealedCrypto): SessionKeys {
  const dh = crypto.x25519.sharedSecret;
  const ikm = concatBytes(dh(h.ephemeralSecret, h.peerEphemeral), dh(h.ephemeralSecret, h.peerStatic), dh(h.staticSecret, h.peerEphemeral));
  const [c2s, s2c] = split(ikm, h.appId, crypto);
  return { send: s2c, receive: c2s };
}

function split(ikm: Uint8Array, appId: string, crypto: SealedCrypto): [Uint8Array, Uint8Array] {
  const okm = crypto.hkdfSha256(ikm, utf8(appId), utf8(SEALED_INFO), 64);
  return [okm.subarray(0, 32), okm.subarray(32, 64)];
}

export type OpenResult<P extends Uint8Array = Uint8Array> = { ok: true; seq: bigint; plaintext: P } | { ok: false; reason: 'short' | 'replay' | 'reorder' | 'tampered' };

/** One direction-pair of a session: seals what this side sends, opens what it receives. */
export class SealedChannel {
  private sendSeq = 0n;
  private receiveSeq = 0n;
  /** Frames refused, by reason: the gateway reports them. */
  readonly refused = { short: 0, replay: 0, reorder: 0, tampered: 0 };

  constructor(
    private readonly keys: SessionKeys,
    private readonly crypto: SealedCrypto,
  ) {}

  seal(plaintext: Uint8Array): Uint8Array {
    this.sendSeq += 1n;
    const header = writeU64BE(this.sendSeq);
    const body = this.crypto.chacha20Poly1305.seal(this.keys.send, nonce(header), plaintext, header);
    const frame = new Uint8Array(HEADER + body.length);
    frame.set(header);
    frame.set(body, HEADER);
    return frame;
  }

  open(frame: Uint8Array): OpenResult {
    if (frame.length < HEADER + TAG) return this.refuse('short');
    const header = frame.subarray(0, HEADER);
    const seq = readU64BE(header);
    if (seq <= this.receiveSeq) return this.refuse('replay');
    if (seq !== this.receiveSeq + 1n) return this.refuse('reorder');
    const body = this.crypto.chacha20Poly1305.open(this.keys.receive, nonce(header), frame.subarray(HEADER), header);
    if (body === undefined) return this.refuse('tampered');
    this.receiveSeq = seq;
    return { ok: true, seq, plaintext: body };
  }

  private refuse(reason: keyof SealedChannel['refused']): OpenResult {
    this.refused[reason]++;
    return { ok: false, reason };
  }
}

/** 4 zero bytes || the 8 seq bytes. */
function nonce(header: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  n.set(header, 4);
  return n;
}
