/**
 * The device client's cryptography: the protocol's pure-JS implementation
 * (protocol/crypto-noble.ts), so the client needs nothing but protocol/ and
 * runs wherever that does. Key handles are raw bytes.
 */
import { nobleCrypto } from '../protocol/crypto-noble.js';
import { frameSigning } from '../protocol/signing.js';

export const clientCrypto = nobleCrypto;

/** A prepared Ed25519 private key (the seed). */
export type SigningKey = Uint8Array;
/** A prepared Ed25519 public key (the raw 32 bytes). */
export type VerifyingKey = Uint8Array;

export const { signFrame, verifyFrame } = frameSigning(nobleCrypto);
