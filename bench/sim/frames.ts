/**
 * Device frames as text, built the cheap way: open-tier messages from a
 * template, signed ones through the gateway's own signFrame so the bench
 * signs exactly what a device signs. The encrypted tier signs its register
 * and re_register (with the session's child_ephemeral) and sends its messages
 * unsigned (the template): the sealed channel authenticates them. Payloads are a function of seq, so a
 * re-sent seq carries the same payload (a different one is a seq_conflict).
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { generateKeyPair, privateKeyObject } from '../../gateway/crypto/ed25519.js';
import { decodeSignature, encodePublicKey } from '../../protocol/keys.js';
import { signFrame, signingInput } from '../../gateway/crypto/frame-signing.js';

export type Tier = 'open' | 'signed' | 'encrypted';

export interface DeviceIdentity {
  readonly appId: string;
  readonly tier: Tier;
  readonly pubKey: string;
  /** Private key (signed and encrypted tiers). */
  readonly key: KeyObject | null;
  /** Ed25519 seed (signed and encrypted tiers): the encrypted tier's static X25519 secret comes from it. */
  readonly seed: Uint8Array | null;
  /** Raw public key bytes (signed tier only), for verify benches. */
  readonly rawPub: Uint8Array | null;
}

export function newIdentity(tier: Tier): DeviceIdentity {
  if (tier === 'open') {
    // Open apps record a key but never use it: random bytes are enough.
    return { appId: randomUUID(), tier, pubKey: encodePublicKey(randomBytes(32)), key: null, seed: null, rawPub: null };
  }
  const pair = generateKeyPair();
  return { appId: randomUUID(), tier, pubKey: encodePublicKey(pair.publicKey), key: privateKeyObject(pair.secretKey), seed: pair.secretKey, rawPub: pair.publicKey };
}

/** A small Status payload (temperature, humidity, battery), fixed by seq. */
export function statusPayload(seq: number): { temp: number; humidity: number; battery: number } {
  return { temp: 15 + (seq % 150) / 10, humidity: 30 + (seq % 40), battery: 100 - (seq % 100) };
}

function sign(id: DeviceIdentity, frame: object): string {
  return JSON.stringify(id.key ? signFrame(frame, id.key) : frame);
}

export function messageText(id: DeviceIdentity, seq: number, timestamp = Date.now()): string {
  if (!id.key || id.tier === 'encrypted') {
    const p = statusPayload(seq);
    return `{"type":"message","app_id":"${id.appId}","header":{"msg_type":"Status","timestamp":${timestamp},"seq":${seq},"correlation_id":null},"payload":{"temp":${p.temp},"humidity":${p.humidity},"battery":${p.battery}}}`;
  }
  return sign(id, { type: 'message', app_id: id.appId, header: { msg_type: 'Status', timestamp, seq, correlation_id: null }, payload: statusPayload(seq) });
}

/** `childEphemeral`: the encrypted tier's x25519:... key of this handshake. */
export function registerText(id: DeviceIdentity, name: string, timestamp: number, childEphemeral?: string): string {
  return sign(id, {
    type: 'register',
    app_id: id.appId,
    parent_id: null,
    app_name: name,
    child_pub_key: id.pubKey,
    process_info: { pid: process.pid },
    role_refs: [],
    sec_level: id.tier,
    timestamp,
    ...(childEphemeral ? { child_ephemeral: childEphemeral } : {}),
  });
}

export function reRegisterText(id: DeviceIdentity, lastSeq: number, timestamp: number, childEphemeral?: string): string {
  const eph = childEphemeral ? { child_ephemeral: childEphemeral } : {};
  return sign(id, { type: 're_register', app_id: id.appId, last_seq: lastSeq, pub_key: id.pubKey, timestamp, ...eph });
}

/** What the gateway verifies for one signed message: the signing input, the signature, the key. */
export interface VerifyCase {
  input: Uint8Array;
  sig: Uint8Array;
  rawPub: Uint8Array;
}

export function verifyCase(id: DeviceIdentity, seq: number): VerifyCase {
  if (!id.key || !id.rawPub || id.tier !== 'signed') throw new Error('verify cases need a signed identity');
  const frame = JSON.parse(messageText(id, seq)) as { sig: string };
  const sig = decodeSignature(frame.sig)!;
  return { input: signingInput(frame), sig, rawPub: id.rawPub };
}
