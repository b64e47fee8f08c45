/**
 * Checks an implementation against the test vectors (docs/vectors/*.json):
 * pure, so the same checks run on node:crypto, on noble, in a browser
 * bundle, and can be ported to the firmware. Each returns the list of what
 * did not match (empty: all vectors pass).
 */
import { fromHex, fromUtf8, toHex, utf8 } from './bytes.js';
import type { TrailsCrypto } from './crypto.js';
import { decodePublicKey, decodeSignature, encodePublicKey, encodeSignature, encodeTagged } from './keys.js';
import { clientSessionKeys, gatewaySessionKeys, SealedChannel, type SessionKeys } from './sealed.js';
import { signingInput } from './signing.js';

export interface SigningVectors {
  device: { seed_hex: string; public_key: string };
  gateway: { seed_hex: string; public_key: string };
  cases: Array<{ signer: 'device' | 'gateway'; frame: object; signing_input: string; sig: string }>;
}

export interface SealedVectors {
  app_id: string;
  device: { ed25519_seed_hex: string; public_key: string; x25519_secret_hex: string; x25519_public_hex: string };
  gateway: { ed25519_seed_hex: string; public_key: string; x25519_secret_hex: string; x25519_public_hex: string };
  child_ephemeral: { secret_hex: string; wire: string };
  server_ephemeral: { secret_hex: string; wire: string };
  k_c2s_hex: string;
  k_s2c_hex: string;
  frames: Array<{ direction: 'c2s' | 's2c'; seq: number; plaintext: string; sealed_hex: string }>;
}

export function checkSigningVectors<SK, VK>(v: SigningVectors, crypto: TrailsCrypto<SK, VK>): string[] {
  const bad: string[] = [];
  const ed = crypto.ed25519;
  for (const who of ['device', 'gateway'] as const) {
    const pair = ed.keyPairFromSeed(fromHex(v[who].seed_hex));
    if (encodePublicKey(pair.publicKey) !== v[who].public_key) bad.push(`${who}: public key of the seed`);
  }
  v.cases.forEach((c, i) => {
    const input = signingInput(c.frame);
    if (fromUtf8(input) !== c.signing_input) bad.push(`case ${i}: signing input`);
    if (encodeSignature(ed.sign(input, ed.signingKey(fromHex(v[c.signer].seed_hex)))) !== c.sig) bad.push(`case ${i}: signature`);
    const key = ed.verifyingKey(decodePublicKey(v[c.signer].public_key)!);
    const sig = decodeSignature(c.sig)!;
    if (!ed.verify(utf8(c.signing_input), sig, key)) bad.push(`case ${i}: does not verify`);
    if (ed.verify(utf8(`${c.signing_input} `), sig, key)) bad.push(`case ${i}: verifies an altered input`);
  });
  return bad;
}

/** X25519 public key of a secret: X25519(secret, 9). */
const BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));

export function checkSealedVectors(v: SealedVectors, crypto: TrailsCrypto): string[] {
  const bad: string[] = [];
  const x = crypto.x25519;
  for (const who of ['device', 'gateway'] as const) {
    const pair = crypto.ed25519.keyPairFromSeed(fromHex(v[who].ed25519_seed_hex));
    if (encodePublicKey(pair.publicKey) !== v[who].public_key) bad.push(`${who}: Ed25519 public key`);
    if (toHex(x.fromEd25519Secret(pair.secretKey)) !== v[who].x25519_secret_hex) bad.push(`${who}: X25519 secret`);
    if (toHex(x.fromEd25519Public(pair.publicKey)) !== v[who].x25519_public_hex) bad.push(`${who}: X25519 public`);
  }
  const childEph = fromHex(v.child_ephemeral.secret_hex);
  const serverEph = fromHex(v.server_ephemeral.secret_hex);
  const childEphPub = x.sharedSecret(childEph, BASE_POINT);
  const serverEphPub = x.sharedSecret(serverEph, BASE_POINT);
  if (encodeTagged('x25519', childEphPub) !== v.child_ephemeral.wire) bad.push('child ephemeral: wire form');
  if (encodeTagged('x25519', serverEphPub) !== v.server_ephemeral.wire) bad.push('server ephemeral: wire form');
  const client = clientSessionKeys({ appId: v.app_id, ephemeralSecret: childEph, staticSecret: fromHex(v.device.x25519_secret_hex), peerEphemeral: serverEphPub, peerStatic: fromHex(v.gateway.x25519_public_hex) }, crypto);
  const gateway = gatewaySessionKeys({ appId: v.app_id, ephemeralSecret: serverEph, staticSecret: fromHex(v.gateway.x25519_secret_hex), peerEphemeral: childEphPub, peerStatic: fromHex(v.device.x25519_public_hex) }, crypto);
  if (toHex(client.send) !== v.k_c2s_hex || toHex(gateway.receive) !== v.k_c2s_hex) bad.push('k_c2s');
  if (toHex(client.receive) !== v.k_s2c_hex || toHex(gateway.send) !== v.k_s2c_hex) bad.push('k_s2c');
  bad.push(...checkFrames(v, client, gateway, crypto));
  return bad;
}

function checkFrames(v: SealedVectors, clientKeys: SessionKeys, gatewayKeys: SessionKeys, crypto: TrailsCrypto): string[] {
  const bad: string[] = [];
  const client = new SealedChannel(clientKeys, crypto);
  const gateway = new SealedChannel(gatewayKeys, crypto);
  for (const f of v.frames) {
    const [sender, receiver] = f.direction === 'c2s' ? [client, gateway] : [gateway, client];
    if (toHex(sender.seal(utf8(f.plaintext))) !== f.sealed_hex) bad.push(`${f.direction} ${f.seq}: sealed bytes`);
    const opened = receiver.open(fromHex(f.sealed_hex));
    if (!opened.ok || opened.seq !== BigInt(f.seq) || fromUtf8(opened.plaintext) !== f.plaintext) bad.push(`${f.direction} ${f.seq}: does not open`);
  }
  return bad;
}
