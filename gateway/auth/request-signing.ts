/**
 * Signed REST and watch requests on node:crypto. The signing input, the
 * header names and the request format are the protocol's
 * (protocol/request-signing.ts); this binds them to the gateway's crypto.
 */
import { requestSigning } from '../../protocol/request-signing.js';
import { nodeCrypto } from '../crypto/node-crypto.js';

export * from '../../protocol/request-signing.js';

export const { bodySha256, newNonce, signRequest } = requestSigning(nodeCrypto);
