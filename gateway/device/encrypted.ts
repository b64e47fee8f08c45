/**
 * The gateway's half of the encrypted tier's handshake (docs/PROTOCOL.md
 * "Encrypted tier"): from a device's register (its identity key and this
 * session's ephemeral key) to a SealedChannel and the ephemeral key the
 * gateway answers with. The gateway's ephemeral secret lives only inside this
 * function, so a session cannot be decrypted later even with both long-term
 * keys (forward secrecy).
 */
import { edPublicToX25519, generateX25519 } from '../crypto/x25519.js';
import { decodePublicKey, decodeTagged, encodeTagged } from '../../protocol/keys.js';
import { gatewaySessionKeys, SealedChannel } from '../crypto/sealed.js';
import type { ServerIdentity } from './server-identity.js';

export const decodeX25519 = (text: unknown): Uint8Array | undefined => decodeTagged('x25519', text, 32);
export const encodeX25519 = (raw: Uint8Array): string => encodeTagged('x25519', raw);

export type Handshake = { ok: true; channel: SealedChannel; serverEphemeral: string } | { ok: false; message: string };

export function acceptHandshake(identity: ServerIdentity, appId: string, childPubKey: string, childEphemeral: string | null | undefined): Handshake {
  const peerEphemeral = decodeX25519(childEphemeral);
  if (!peerEphemeral) return { ok: false, message: '"child_ephemeral" must be x25519: + base64 of 32 bytes' };
  const edKey = decodePublicKey(childPubKey);
  if (!edKey) return { ok: false, message: '"child_pub_key" must be ed25519: + base64 of 32 bytes' };
  const ephemeral = generateX25519();
  try {
    const keys = gatewaySessionKeys({
      appId,
      ephemeralSecret: ephemeral.secretKey,
      staticSecret: identity.x25519Secret,
      peerEphemeral,
      peerStatic: edPublicToX25519(edKey),
    });
    return { ok: true, channel: new SealedChannel(keys), serverEphemeral: encodeX25519(ephemeral.publicKey) };
  } catch (e) {
    return { ok: false, message: `key agreement failed: ${(e as Error).message}` };
  } finally {
    ephemeral.secretKey.fill(0);
  }
}
