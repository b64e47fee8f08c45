/**
 * The cryptography the protocol needs, as one small interface with two
 * implementations: protocol/crypto-noble.ts (pure JS, @noble: browsers, the
 * device client, the tests' independent check) and gateway/crypto/node-crypto.ts
 * (node:crypto/OpenSSL, several times faster where the gateway is hot: frame
 * verification and the sealed tier). Both pass every vector in docs/vectors.
 *
 * Ed25519 keys are prepared once into handles (`SK`, `VK`): a KeyObject on
 * node:crypto, the raw bytes on noble. The protocol only passes them through.
 */

export interface Ed25519KeyPair {
  /** 32-byte seed (RFC 8032 private key). */
  readonly secretKey: Uint8Array;
  /** 32-byte public key. */
  readonly publicKey: Uint8Array;
}

export interface X25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface Ed25519<SK, VK> {
  generateKeyPair(): Ed25519KeyPair;
  keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair;
  signingKey(seed: Uint8Array): SK;
  verifyingKey(publicKey: Uint8Array): VK;
  sign(message: Uint8Array, key: SK): Uint8Array;
  /** Never throws: a malformed signature is simply not valid. */
  verify(message: Uint8Array, signature: Uint8Array, key: VK): boolean;
}

export interface X25519 {
  generateKeyPair(): X25519KeyPair;
  /** X25519(secret, public). Throws on a low-order public key (an all-zero shared secret). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** The X25519 public key of an Ed25519 public key (RFC 7748 §4.1). */
  fromEd25519Public(edPublicKey: Uint8Array): Uint8Array;
  /** The X25519 secret key of an Ed25519 seed. */
  fromEd25519Secret(edSeed: Uint8Array): Uint8Array;
}

/** ChaCha20-Poly1305 (RFC 8439), 12-byte nonce, 16-byte tag appended. */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** The plaintext, or undefined when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

export interface TrailsCrypto<SK = unknown, VK = unknown> {
  readonly name: string;
  readonly ed25519: Ed25519<SK, VK>;
  readonly x25519: X25519;
  readonly chacha20Poly1305: Aead;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array;
  sha256(message: Uint8Array): Uint8Array;
  randomBytes(length: number): Uint8Array;
}
