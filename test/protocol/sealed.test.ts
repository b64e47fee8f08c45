import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { edPublicToX25519, edSecretToX25519, generateX25519, x25519 } from '../../gateway/crypto/x25519.js';
import { clientSessionKeys, gatewaySessionKeys, SealedChannel, type SessionKeys } from '../../gateway/crypto/sealed.js';
import { ed25519, x25519 as nobleX } from '@noble/curves/ed25519.js';

function handshake() {
  const appId = crypto.randomUUID();
  const device = generateKeyPair();
  const gateway = generateKeyPair();
  const ce = generateX25519();
  const ge = generateX25519();
  const client = clientSessionKeys({ appId, ephemeralSecret: ce.secretKey, staticSecret: edSecretToX25519(device.secretKey), peerEphemeral: ge.publicKey, peerStatic: edPublicToX25519(gateway.publicKey) });
  const gw = gatewaySessionKeys({ appId, ephemeralSecret: ge.secretKey, staticSecret: edSecretToX25519(gateway.secretKey), peerEphemeral: ce.publicKey, peerStatic: edPublicToX25519(device.publicKey) });
  return { appId, device, gateway, ce, ge, client, gw };
}

describe('encrypted tier session', () => {
  it('both sides derive the same two keys, one per direction', () => {
    const { client, gw } = handshake();
    expect(client.send).toEqual(gw.receive);
    expect(client.receive).toEqual(gw.send);
    expect(client.send).not.toEqual(client.receive);
  });

  it('the Ed25519 → X25519 conversion agrees with an independent implementation', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const viaNode = x25519(edSecretToX25519(a.secretKey), edPublicToX25519(b.publicKey));
    const viaNoble = nobleX.getSharedSecret(ed25519.utils.toMontgomerySecret(b.secretKey), ed25519.utils.toMontgomery(a.publicKey));
    expect(Buffer.from(viaNode)).toEqual(Buffer.from(viaNoble));
  });

  it('seals and opens in order, both ways', () => {
    const { client, gw } = handshake();
    const c = new SealedChannel(client);
    const g = new SealedChannel(gw);
    for (let i = 0; i < 5; i++) {
      const r = g.open(c.seal(Buffer.from(`up ${i}`)));
      expect(r.ok && r.plaintext.toString()).toBe(`up ${i}`);
      const back = c.open(g.seal(Buffer.from(`down ${i}`)));
      expect(back.ok && back.plaintext.toString()).toBe(`down ${i}`);
    }
  });

  it('refuses replayed, reordered, tampered, truncated and padded frames, and counts them', () => {
    const { client, gw } = handshake();
    const c = new SealedChannel(client);
    const g = new SealedChannel(gw);
    const f1 = c.seal(Buffer.from('one'));
    const f2 = c.seal(Buffer.from('two'));
    const f3 = c.seal(Buffer.from('three'));
    expect(g.open(f2)).toEqual({ ok: false, reason: 'reorder' });
    expect(g.open(f1).ok).toBe(true);
    expect(g.open(f1)).toEqual({ ok: false, reason: 'replay' });
    const flipped = Buffer.from(f2);
    flipped[9]! ^= 1;
    expect(g.open(flipped)).toEqual({ ok: false, reason: 'tampered' });
    expect(g.open(f2.subarray(0, f2.length - 1))).toEqual({ ok: false, reason: 'tampered' });
    expect(g.open(Buffer.concat([f2, Buffer.from([0])]))).toEqual({ ok: false, reason: 'tampered' });
    expect(g.open(f2.subarray(0, 10))).toEqual({ ok: false, reason: 'short' });
    const relabelled = Buffer.from(f3);
    relabelled.writeBigUInt64BE(2n); // seq 3's body under seq 2's header
    expect(g.open(relabelled)).toEqual({ ok: false, reason: 'tampered' });
    expect(g.open(f2).ok).toBe(true);
    expect(g.refused).toEqual({ short: 1, replay: 1, reorder: 1, tampered: 4 });
  });

  it('a frame sealed under an old session key is refused by a new session', () => {
    const first = handshake();
    const old = new SealedChannel(first.client).seal(Buffer.from('old'));
    const second = handshake();
    expect(new SealedChannel(second.gw).open(old)).toEqual({ ok: false, reason: 'tampered' });
  });

  it('forward secrecy: a recorded session stays unreadable when both long-term keys leak later', () => {
    const s = handshake();
    const recording = [new SealedChannel(s.client).seal(Buffer.from('{"secret":"door code 4711"}'))];
    // The ephemeral secrets are gone; the attacker has the recording, every
    // public value, and now both long-term Ed25519 seeds.
    const leakedDevice = edSecretToX25519(s.device.secretKey);
    const leakedGateway = edSecretToX25519(s.gateway.secretKey);
    const computable = [x25519(leakedDevice, s.ge.publicKey), x25519(leakedGateway, s.ce.publicKey), x25519(leakedDevice, edPublicToX25519(s.gateway.publicKey))];
    // Every combination the attacker can compute instead of the ephemeral-ephemeral secret fails.
    for (const guess of [...computable, new Uint8Array(32)]) {
      const keys = attackerKeys(s.appId, Buffer.concat([guess, computable[0]!, computable[1]!]));
      expect(new SealedChannel(keys).open(recording[0]!).ok).toBe(false);
    }
    // Sanity: with the real ephemeral-ephemeral secret it would open.
    const real = attackerKeys(s.appId, Buffer.concat([x25519(s.ce.secretKey, s.ge.publicKey), computable[0]!, computable[1]!]));
    expect(new SealedChannel(real).open(recording[0]!).ok).toBe(true);
  });
});

function attackerKeys(appId: string, ikm: Buffer): SessionKeys {
  const okm = Buffer.from(hkdfSync('sha256', ikm, Buffer.from(appId), Buffer.from('trails-v1'), 64));
  return { send: okm.subarray(32), receive: okm.subarray(0, 32) };
}
