/**
 * The household registration gate on node:crypto. The join token's format
 * is the protocol's (protocol/join-token.ts, docs/PROTOCOL.md "Registration
 * gate"); this binds its HMAC to the gateway's crypto and holds the gateway's
 * setting of whether the gate is closed.
 */
import { joinTokens } from '../../protocol/join-token.js';
import { nodeCrypto } from '../crypto/node-crypto.js';

export { joinFromUrl, joinTokenInput, JOIN_TOKEN_BYTES } from '../../protocol/join-token.js';

export type RegistrationMode = 'gated' | 'open';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['gated', 'open'];

export const { joinToken, joinTokenBytes, joinTokenValid } = joinTokens(nodeCrypto);
