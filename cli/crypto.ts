/**
 * The CLI's cryptography: the protocol's pure-JS implementation (the CLI
 * signs a handful of requests, so speed does not matter and it needs nothing
 * of the gateway's).
 */
import { nobleCrypto } from '../protocol/crypto-noble.js';
import { requestSigning } from '../protocol/request-signing.js';

export const cliCrypto = nobleCrypto;

export const { signRequest } = requestSigning(nobleCrypto);
