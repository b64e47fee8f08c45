/**
 * Frame signatures on node:crypto: the gateway signs and verifies with
 * KeyObjects (gateway/crypto/ed25519.ts). The signing input itself is the
 * protocol's (protocol/signing.ts), re-exported here for the gateway's callers.
 */
import { frameSigning } from '../../protocol/signing.js';
import { nodeCrypto } from './node-crypto.js';

export { SIG_DOMAIN, signingInput, signingInputOf } from '../../protocol/signing.js';

export const { signFrame, verifyFrame } = frameSigning(nodeCrypto);
