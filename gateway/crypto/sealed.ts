/**
 * The encrypted tier on node:crypto: the sealed hot path of the gateway (every
 * frame of every encrypted device). The key schedule and the frame layout are
 * the protocol's (protocol/sealed.ts); this binds them to OpenSSL and hands
 * plaintext back as a Buffer, as the gateway's callers read it.
 */
import * as sealed from '../../protocol/sealed.js';
import type { HandshakeInput, OpenResult, SessionKeys } from '../../protocol/sealed.js';
import { nodeCrypto } from './node-crypto.js';

export { SEALED_INFO, type HandshakeInput, type OpenResult, type SessionKeys } from '../../protocol/sealed.js';

export const clientSessionKeys = (h: HandshakeInput): SessionKeys => sealed.clientSessionKeys(h, nodeCrypto);
export const gatewaySessionKeys = (h: HandshakeInput): SessionKeys => sealed.gatewaySessionKeys(h, nodeCrypto);

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class SealedChannel extends sealed.SealedChannel {
  constructor(keys: SessionKeys) {
    super(keys, nodeCrypto);
  }

  override seal(plaintext: Uint8Array): Buffer {
    return asBuffer(super.seal(plaintext));
  }

  override open(frame: Uint8Array): OpenResult<Buffer> {
    const r = super.open(frame);
    return r.ok ? { ...r, plaintext: asBuffer(r.plaintext) } : r;
  }
}
