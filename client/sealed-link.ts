/**
 * The device's half of the encrypted tier (docs/PROTOCOL.md "Encrypted
 * tier"), kept below the session as a transport wrapper: the session goes on
 * speaking JSON text; once the handshake completes, this link seals every
 * frame it sends into a binary frame and opens every binary frame it gets.
 *
 * The handshake rides on register/re_register: begin() makes this session's
 * ephemeral X25519 key (the session puts it in the signed frame), complete()
 * takes the gateway's signed `registered` answer and derives the two keys.
 * The ephemeral secret is wiped right after, which is what keeps recorded
 * sessions unreadable if the long-term keys leak later.
 */
import type { X25519KeyPair } from '../protocol/crypto.js';
import { decodePublicKey, decodeTagged, encodeTagged } from '../protocol/keys.js';
import type { RegisteredFrame } from '../protocol/frames.js';
import { clientSessionKeys, SealedChannel } from '../protocol/sealed.js';
import { fromUtf8, utf8 } from '../protocol/bytes.js';
import { clientCrypto } from './crypto.js';
import type { TrailsLogger } from './log.js';
import type { Transport, TransportHandlers, TransportSocket } from './transport.js';

export interface SealedLinkOptions {
  appId: string;
  /** The device's Ed25519 seed (its identity). */
  identitySeed: Uint8Array;
  /** The pinned gateway key, raw 32 bytes (serverPubKey). */
  serverPublicKey: Uint8Array;
  log: TrailsLogger;
}

export class SealedLink {
  private ephemeral?: X25519KeyPair;
  private channel?: SealedChannel;
  /** Frames from the gateway that did not open (replayed, reordered, tampered). */
  refused = 0;

  constructor(private readonly o: SealedLinkOptions) {}

  /** A fresh ephemeral key for the next register/re_register; drops any session. */
  begin(): string {
    this.channel = undefined;
    this.ephemeral = clientCrypto.x25519.generateKeyPair();
    return encodeTagged('x25519', this.ephemeral.publicKey);
  }

  /**
   * Derives the session from the gateway's answer. The caller has verified its
   * signature against the keys it trusts, so the key the frame names is the
   * gateway's key in force (it differs from the configured one after a
   * rotate_keys switch).
   */
  complete(f: RegisteredFrame): boolean {
    const eph = this.ephemeral;
    const serverEphemeral = decodeTagged('x25519', f.server_ephemeral, 32);
    const serverStatic = decodePublicKey(f.server_pub_key) ?? this.o.serverPublicKey;
    if (!eph || !serverEphemeral || f.child_ephemeral !== encodeTagged('x25519', eph.publicKey)) return false;
    try {
      const keys = clientSessionKeys({
        appId: this.o.appId,
        ephemeralSecret: eph.secretKey,
        staticSecret: clientCrypto.x25519.fromEd25519Secret(this.o.identitySeed),
        peerEphemeral: serverEphemeral,
        peerStatic: clientCrypto.x25519.fromEd25519Public(serverStatic),
      }, clientCrypto);
      this.channel = new SealedChannel(keys, clientCrypto);
      return true;
    } catch (e) {
      this.o.log.error(`encrypted handshake failed: ${(e as Error).message}`);
      return false;
    } finally {
      eph.secretKey.fill(0);
      this.ephemeral = undefined;
    }
  }

  get established(): boolean {
    return this.channel !== undefined;
  }

  /** Wraps a transport: text out is sealed and binary in is opened once the session exists. */
  wrap(inner: Transport): Transport {
    return {
      open: (url: string, h: TransportHandlers): TransportSocket => {
        const socket = inner.open(url, {
          onOpen: () => {
            this.channel = undefined;
            h.onOpen();
          },
          onMessage: (text) => h.onMessage(text),
          onBinary: (data) => this.receive(data, h),
          onClose: (code, reason) => {
            this.channel = undefined;
            h.onClose(code, reason);
          },
        });
        return {
          send: (text) => {
            if (this.channel && socket.sendBinary) socket.sendBinary(this.channel.seal(utf8(text)));
            else socket.send(text);
          },
          close: (code, reason) => socket.close(code, reason),
        };
      },
    };
  }

  private receive(data: Uint8Array, h: TransportHandlers): void {
    const opened = this.channel?.open(data);
    if (opened?.ok) return h.onMessage(fromUtf8(opened.plaintext));
    this.refused++;
    this.o.log.warn(`sealed frame from the gateway refused: ${opened ? opened.reason : 'no session'}`);
  }
}
