/**
 * Prints the encrypted tier's test vectors (docs/vectors/sealed.json): fixed
 * identity seeds and ephemeral secrets, the derived keys, and sealed frames
 * both ways, so firmware can check its handshake and framing byte for byte.
 * test/protocol/sealed-vectors.test.ts checks the committed file.
 *   node --import tsx test/protocol/make-sealed-vectors.ts > docs/vectors/sealed.json
 */
import { x25519 as nobleX } from '@noble/curves/ed25519.js';
import { keyPairFromSeed } from '../../gateway/crypto/ed25519.js';
import { edPublicToX25519, edSecretToX25519 } from '../../gateway/crypto/x25519.js';
import { encodeX25519 } from '../../gateway/device/encrypted.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { clientSessionKeys, gatewaySessionKeys, SealedChannel } from '../../gateway/crypto/sealed.js';

const bytes = (start: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (start + 7 * i) & 0xff);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function sealedVectors(): object {
  const appId = '6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b';
  const device = keyPairFromSeed(bytes(1));
  const gateway = keyPairFromSeed(bytes(101));
  const deviceEph = bytes(51);
  const gatewayEph = bytes(151);
  const deviceEphPub = nobleX.getPublicKey(deviceEph);
  const gatewayEphPub = nobleX.getPublicKey(gatewayEph);
  const client = clientSessionKeys({ appId, ephemeralSecret: deviceEph, staticSecret: edSecretToX25519(device.secretKey), peerEphemeral: gatewayEphPub, peerStatic: edPublicToX25519(gateway.publicKey) });
  const gw = gatewaySessionKeys({ appId, ephemeralSecret: gatewayEph, staticSecret: edSecretToX25519(gateway.secretKey), peerEphemeral: deviceEphPub, peerStatic: edPublicToX25519(device.publicKey) });
  const up = new SealedChannel(client);
  const down = new SealedChannel(gw);
  const message = JSON.stringify({ type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: 1795300000100, seq: 1, correlation_id: null }, payload: { temp: 21.5 }, sig: null });
  const ack = JSON.stringify({ type: 'ack', seq: 1, app_id: appId });
  const message2 = JSON.stringify({ type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: 1795300000200, seq: 2, correlation_id: null }, payload: { temp: 21.6 }, sig: null });
  return {
    description: 'Encrypted tier (docs/PROTOCOL.md "Encrypted tier"): fixed inputs, derived keys, sealed frames [8-byte seq][ciphertext][16-byte tag], hex.',
    app_id: appId,
    device: { ed25519_seed_hex: hex(device.secretKey), public_key: encodePublicKey(device.publicKey), x25519_secret_hex: hex(edSecretToX25519(device.secretKey)), x25519_public_hex: hex(edPublicToX25519(device.publicKey)) },
    gateway: { ed25519_seed_hex: hex(gateway.secretKey), public_key: encodePublicKey(gateway.publicKey), x25519_secret_hex: hex(edSecretToX25519(gateway.secretKey)), x25519_public_hex: hex(edPublicToX25519(gateway.publicKey)) },
    child_ephemeral: { secret_hex: hex(deviceEph), wire: encodeX25519(deviceEphPub) },
    server_ephemeral: { secret_hex: hex(gatewayEph), wire: encodeX25519(gatewayEphPub) },
    k_c2s_hex: Buffer.from(client.send).toString('hex'),
    k_s2c_hex: Buffer.from(client.receive).toString('hex'),
    frames: [
      { direction: 'c2s', seq: 1, plaintext: message, sealed_hex: up.seal(Buffer.from(message)).toString('hex') },
      { direction: 'c2s', seq: 2, plaintext: message2, sealed_hex: up.seal(Buffer.from(message2)).toString('hex') },
      { direction: 's2c', seq: 1, plaintext: ack, sealed_hex: down.seal(Buffer.from(ack)).toString('hex') },
    ],
  };
}

if (process.argv[1]?.endsWith('make-sealed-vectors.ts')) process.stdout.write(`${JSON.stringify(sealedVectors(), null, 2)}\n`);
