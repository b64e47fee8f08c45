import { describe, expect, it } from 'vitest';
import { publicKeyObject } from '../../gateway/crypto/ed25519.js';
import { edPublicToX25519, edSecretToX25519, generateX25519 } from '../../gateway/crypto/x25519.js';
import { decodeX25519, encodeX25519 } from '../../gateway/device/encrypted.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { clientSessionKeys, SealedChannel } from '../../gateway/crypto/sealed.js';
import { verifyFrame } from '../../gateway/crypto/frame-signing.js';
import { Device, FakeConnection, makeHarness, type Harness } from '../support/hub-harness.js';

/** A device of the encrypted tier: a signed register with an ephemeral key, then sealed frames. */
class SealedDevice extends Device {
  channel?: SealedChannel;
  private eph = generateX25519();

  constructor(appId?: string) {
    super(appId, 'encrypted');
  }

  hello(extra: object = {}): object {
    this.eph = generateX25519();
    return this.register({ child_ephemeral: encodeX25519(this.eph.publicKey), ...extra });
  }

  rehello(): object {
    this.eph = generateX25519();
    return this.reRegister({ child_ephemeral: encodeX25519(this.eph.publicKey) });
  }

  /** Completes the handshake from the gateway's registered frame, as the firmware will. */
  accept(h: Harness, registered: Record<string, unknown>): void {
    const serverKey = decodePublicKey(h.identity.publicKeyText)!;
    expect(verifyFrame(registered, publicKeyObject(serverKey))).toBe(true);
    expect(registered.child_ephemeral).toBe(encodeX25519(this.eph.publicKey));
    const keys = clientSessionKeys({
      appId: this.appId,
      ephemeralSecret: this.eph.secretKey,
      staticSecret: edSecretToX25519(this.keys.secretKey),
      peerEphemeral: decodeX25519(registered.server_ephemeral)!,
      peerStatic: edPublicToX25519(serverKey),
    });
    this.channel = new SealedChannel(keys);
  }

  encrypt(frame: object): Uint8Array {
    const { sig: _drop, ...plain } = frame as Record<string, unknown>;
    return this.channel!.seal(Buffer.from(JSON.stringify(plain)));
  }

  open(data: Uint8Array): Record<string, unknown> {
    const r = this.channel!.open(data);
    if (!r.ok) throw new Error(`cannot open: ${r.reason}`);
    return JSON.parse(r.plaintext.toString()) as Record<string, unknown>;
  }
}

function connected(h: Harness, d = new SealedDevice()): { c: FakeConnection; d: SealedDevice } {
  const c = h.connect();
  c.frame(d.hello());
  h.commit();
  d.accept(h, c.last() as unknown as Record<string, unknown>);
  return { c, d };
}

describe('encrypted tier', () => {
  it('registers with an ephemeral key exchange, then carries messages and acks sealed', () => {
    const h = makeHarness();
    const { c, d } = connected(h);
    expect(c.last()).toMatchObject({ type: 'registered', sec_level: 'encrypted' });
    c.sealedFrame(d.encrypt(d.message({ temp: 21.5 })));
    h.commit();
    expect(c.binary).toHaveLength(1);
    expect(d.open(c.binary[0]!)).toEqual({ type: 'ack', seq: 1, app_id: d.appId });
    expect(h.store.getApp(d.appId)).toMatchObject({ status: 'running', sec_level: 'encrypted' });
    expect(h.store.latestSnapshot(d.appId)?.snapshot_json).toEqual({ temp: 21.5 });
  });

  it('sends controls sealed (and still signed by the gateway)', () => {
    const h = makeHarness();
    const { c, d } = connected(h);
    const { correlationId } = h.hub.controls.send({ appId: d.appId, action: 'unlock', payload: { door: 'front' }, origin: 'admin' });
    h.commit();
    const ctl = d.open(c.binary[0]!);
    expect(ctl).toMatchObject({ type: 'control', action: 'unlock', correlation_id: correlationId });
    expect(verifyFrame(ctl, publicKeyObject(decodePublicKey(h.identity.publicKeyText)!))).toBe(true);
    expect(c.sent.filter((f) => f.type === 'control')).toEqual([]); // nothing in the clear
  });

  it('refuses replayed, reordered and tampered frames, counts them, and stores nothing from them', () => {
    const h = makeHarness();
    const { c, d } = connected(h);
    const f1 = d.encrypt(d.message({ n: 1 }));
    const f2 = d.encrypt(d.message({ n: 2 }));
    c.sealedFrame(f2); // reordered
    c.sealedFrame(f1);
    c.sealedFrame(f1); // replayed
    const bad = Buffer.from(f2);
    bad[bad.length - 1]! ^= 0xff;
    c.sealedFrame(bad); // tampered
    c.sealedFrame(Buffer.from(f2).subarray(0, 20)); // truncated
    c.sealedFrame(Buffer.concat([f2, Buffer.alloc(3)])); // padded
    h.commit();
    expect(h.hub.stats.sealedRefused).toBe(5);
    expect(h.store.messages(d.appId).map((m) => m.payload_json)).toEqual([{ n: 1 }]);
    const answers = c.binary.map((b) => d.open(b));
    expect(answers.filter((a) => a.type === 'error').map((a) => a.code)).toEqual(Array(5).fill('sealed_refused'));
  });

  it('refuses plain text on a sealed connection, and frames under an old session key after a reconnect', () => {
    const h = makeHarness();
    const { c, d } = connected(h);
    c.frame(d.message({ clear: true }));
    expect(d.open(c.binary.at(-1)!)).toMatchObject({ type: 'error', code: 'tier_mismatch' }); // answered sealed
    expect(h.store.messages(d.appId)).toEqual([]);
    const old = d.encrypt(d.message({ n: 1 }));
    c.drop();
    h.commit();
    const c2 = h.connect();
    c2.frame(d.rehello());
    h.commit();
    d.accept(h, c2.last() as unknown as Record<string, unknown>);
    c2.sealedFrame(old);
    h.commit();
    expect(h.hub.stats.sealedRefused).toBe(1);
    expect(h.store.messages(d.appId)).toEqual([]);
  });

  it('needs a connection of its own, a valid ephemeral key, and a signature', () => {
    const h = makeHarness();
    const c = h.connect();
    c.frame(new Device().register());
    const d = new SealedDevice();
    c.frame(d.hello());
    h.commit();
    expect(c.ofType('error').map((e) => e.code)).toEqual(['tier_mismatch']);
    const c2 = h.connect();
    c2.frame(d.hello({ child_ephemeral: 'x25519:AAAA' }));
    expect(c2.last()).toMatchObject({ type: 'error', code: 'bad_frame' });
    c2.frame({ ...(d.hello() as object), sig: null });
    expect(c2.last()).toMatchObject({ type: 'error', code: 'tier_mismatch' });
    expect(h.store.getApp(d.appId)).toBeUndefined();
  });

  it('an encrypted app is never accepted at a lower tier', () => {
    const h = makeHarness();
    const { c, d } = connected(h);
    c.drop();
    h.commit();
    const signedTwin = new Device(d.appId, 'signed');
    Object.assign(signedTwin, { keys: d.keys, pubKey: d.pubKey });
    const c2 = h.connect();
    c2.frame(signedTwin.register());
    expect(c2.last()).toMatchObject({ type: 'error', code: 'tier_mismatch' });
  });
});
