/**
 * Prints the signing test vectors of docs/vectors/signing.json. Ed25519 is
 * deterministic, so the same seeds and frames always give the same bytes;
 * test/protocol/vectors.test.ts checks the committed file against the code.
 *   node --import tsx test/protocol/make-vectors.ts > docs/vectors/signing.json
 */
import { keyPairFromSeed, privateKeyObject } from '../../gateway/crypto/ed25519.js';
import { canonicalize } from '../../protocol/canonical.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { SIG_DOMAIN, signFrame } from '../../gateway/crypto/frame-signing.js';

const seed = (start: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);

export function vectors(): object {
  const device = keyPairFromSeed(seed(1));
  const gateway = keyPairFromSeed(seed(101));
  const dk = privateKeyObject(device.secretKey);
  const gk = privateKeyObject(gateway.secretKey);
  const appId = '6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b';
  const frames = [
    { signer: 'device', frame: { type: 'register', app_id: appId, parent_id: null, app_name: 'kitchen-sensor', child_pub_key: encodePublicKey(device.publicKey), process_info: { pid: 1 }, role_refs: [], sec_level: 'signed', timestamp: 1795300000000 } },
    { signer: 'device', frame: { type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: 1795300000100, seq: 1, correlation_id: null }, payload: { temp: 21.5, humidity: 40, note: 'für €' } } },
    { signer: 'device', frame: { type: 're_register', app_id: appId, last_seq: 1, pub_key: encodePublicKey(device.publicKey), timestamp: 1795300000200 } },
    { signer: 'device', frame: { type: 'control_response', app_id: appId, correlation_id: '0b7e8c4a-1111-4222-8333-944455556666', ack: true, result: { applied: true }, timestamp: 1795300000300 } },
    { signer: 'device', frame: { type: 'disconnect', app_id: appId, reason: 'completed', timestamp: 1795300000400 } },
    { signer: 'device', frame: { type: 'bootstrap_register', child_pub_key: encodePublicKey(device.publicKey), parent_pub_key: encodePublicKey(gateway.publicKey), device_info: { chip: 'ESP32-S3', mac: 'AA:BB:CC:DD:EE:FF', firmware: 'v1.0.3', flash_id: 'c84017' }, timestamp: 1795300000500 } },
    { signer: 'gateway', frame: { type: 'control', app_id: appId, action: 'provision', correlation_id: '1c9f0d2e-5555-4666-8777-988899990000', payload: { appId, parentId: '440e7300-d18a-40c3-b605-335544330000', appName: 'kitchen-sensor', serverEp: null, parentPubKey: null, serverPubKey: encodePublicKey(gateway.publicKey), secLevel: 'encrypted', roleRefs: [], childPubKey: encodePublicKey(device.publicKey) }, issued_at: 1795300000600, expires_at: 1795300300600 } },
    { signer: 'gateway', frame: { type: 'control', app_id: appId, action: 'reconfig', correlation_id: '0b7e8c4a-1111-4222-8333-944455556666', payload: { rate: 5 }, issued_at: 1795300000250, expires_at: 1795300300250 } },
  ];
  return {
    description: 'Signing input = UTF-8(domain + JCS(frame without "sig")); signature = Ed25519(secret seed, signing input). See docs/PROTOCOL.md.',
    domain: SIG_DOMAIN,
    device: { seed_hex: Buffer.from(device.secretKey).toString('hex'), public_key: encodePublicKey(device.publicKey) },
    gateway: { seed_hex: Buffer.from(gateway.secretKey).toString('hex'), public_key: encodePublicKey(gateway.publicKey) },
    cases: frames.map(({ signer, frame }) => ({
      signer,
      frame,
      signing_input: SIG_DOMAIN + canonicalize(frame),
      sig: signFrame(frame, signer === 'device' ? dk : gk).sig,
    })),
  };
}

if (process.argv[1]?.endsWith('make-vectors.ts')) process.stdout.write(`${JSON.stringify(vectors(), null, 2)}\n`);
