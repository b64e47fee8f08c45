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
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { x25519 } from '../gateway/crypto/x25519.js';

export const SEALED_INFO = 'trails-v1';
const TAG = 16;
const HEADER = 8;

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
  send: Buffer;
  receive: Buffer;
}

export function clientSessionKeys(h: HandshakeInput): SessionKeys {
  const ikm = Buffer.concat([x25519(h.ephemeralSecret, h.peerEphemeral), x25519(h.staticSecret, h.peerEphemeral), x25519(h.ephemeralSecret, h.peerStatic)]);
  const [c2s, s2c] = split(ikm, h.appId);
  return { send: c2s, receive: s2c };
}

export function gatewaySessionKeys(h: HandshakeInput): SessionKeys {
  const ikm = Buffer.concat([x25519(h.ephemeralSecret, h.peerEphemeral), x25519(h.ephemeralSecret, h.peerStatic), x25519(h.staticSecret, h.peerEphemeral)]);
  const [c2s, s2c] = split(ikm, h.appId);
  return { send: s2c, receive: c2s };
}

function split(ikm: Buffer, appId: string): [Buffer, Buffer] {
  const okm = Buffer.from(hkdfSync('sha256', ikm, Buffer.from(appId, 'utf8'), Buffer.from(SEALED_INFO, 'utf8'), 64));
  return [okm.subarray(0, 32), okm.subarray(32, 64)];
}

export type OpenResult = { ok: true; seq: bigint; plaintext: Buffer } | { ok: false; reason: 'short' | 'replay' | 'reorder' | 'tampered' };

/** One direction-pair of a session: seals what this side sends, opens what it receives. */
export class SealedChannel {
  private sendSeq = 0n;
  private receiveSeq = 0n;
  /** Frames refused, by reason: the gateway reports them. */
  readonly refused = { short: 0, replay: 0, reorder: 0, tampered: 0 };

  constructor(private readonly keys: SessionKeys) {}

  seal(plaintext: Uint8Array): Buffer {
    this.sendSeq += 1n;
    const header = Buffer.alloc(HEADER);
    header.writeBigUInt64BE(this.sendSeq);
    const cipher = createCipheriv('chacha20-poly1305', this.keys.send, nonce(header), { authTagLength: TAG });
    cipher.setAAD(header, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    cipher.final();
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  open(frame: Uint8Array): OpenResult {
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    if (buf.length < HEADER + TAG) return this.refuse('short');
    const header = buf.subarray(0, HEADER);
    const seq = header.readBigUInt64BE();
    if (seq <= this.receiveSeq) return this.refuse('replay');
    if (seq !== this.receiveSeq + 1n) return this.refuse('reorder');
    const decipher = createDecipheriv('chacha20-poly1305', this.keys.receive, nonce(header), { authTagLength: TAG });
    decipher.setAAD(header, { plaintextLength: buf.length - HEADER - TAG });
    decipher.setAuthTag(buf.subarray(buf.length - TAG));
    const body = decipher.update(buf.subarray(HEADER, buf.length - TAG));
    try {
      decipher.final();
    } catch {
      return this.refuse('tampered');
    }
    this.receiveSeq = seq;
    return { ok: true, seq, plaintext: body };
  }

  private refuse(reason: keyof SealedChannel['refused']): OpenResult {
    this.refused[reason]++;
    return { ok: false, reason };
  }
}

function nonce(header: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(4), header]);
}
