import { describe, expect, it } from 'vitest';
import { generateKeyPair, privateKeyObject, publicKeyObject, verify } from '../../gateway/crypto/ed25519.js';
import { decodePublicKey, decodeSignature, encodePublicKey } from '../../protocol/keys.js';
import { parseClientFrame } from '../../protocol/parse.js';
import { signFrame, signingInput, verifyFrame } from '../../gateway/crypto/frame-signing.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** The base64 letter after `c`: the same high bits, the lowest bit set (when `c` ends in zero bits). */
const nextLetter = (c: string): string => B64[B64.indexOf(c) + 1]!;

describe('key encoding', () => {
  it('round-trips and is strict about length, tag and base64 form', () => {
    const { publicKey } = generateKeyPair();
    const text = encodePublicKey(publicKey);
    expect(decodePublicKey(text)).toEqual(publicKey);
    for (const bad of [text.replace('ed25519:', 'x25519:'), text.slice(0, -4), `${text}AAAA`, text.replace(/=$/, ''), 'ed25519:!!!!', 42, null]) {
      expect(decodePublicKey(bad)).toBeUndefined();
    }
    expect(decodeSignature(text)).toBeUndefined(); // 32 bytes is not a signature
  });

  it('refuses every text but the one canonical form of the bytes, at the right length', () => {
    const key = new Uint8Array(32).fill(0xfb); // base64 of 0xfb bytes uses '+' and '/'
    const text = encodePublicKey(key);
    expect(text).toMatch(/[+/]/);
    expect(decodePublicKey(text)).toEqual(key);
    const body = text.slice('ed25519:'.length);
    const variants = [
      body.replace(/\+/g, '-').replace(/\//g, '_'), // URL-safe alphabet
      `${body.slice(0, -2)}${nextLetter(body.at(-2)!)}=`, // same 32 bytes, nonzero padding bits
      ` ${body.slice(1)}`, // a space where a letter was
      `${body.slice(0, 20)}\n${body.slice(21)}`, // a newline (Node skips it) at the same length
      '!'.repeat(body.length),
    ];
    for (const v of variants) {
      expect(v).toHaveLength(body.length);
      expect(decodePublicKey(`ed25519:${v}`)).toBeUndefined();
    }
    expect(decodePublicKey(`ed25519:${body}${'A'.repeat(1 << 20)}`)).toBeUndefined(); // not decoded at all
  });
});

describe('frame signatures', () => {
  const kp = generateKeyPair();
  const sk = privateKeyObject(kp.secretKey);
  const pk = publicKeyObject(kp.publicKey);
  const frame = { type: 'message', app_id: crypto.randomUUID(), header: { msg_type: 'Status', seq: 7, timestamp: 1, correlation_id: null }, payload: { b: 1, a: [1, 'x'] } };

  it('covers every member but sig, independent of key order', () => {
    const signed = signFrame(frame, sk);
    expect(verifyFrame(signed, pk)).toBe(true);
    const reordered = { sig: signed.sig, payload: { a: [1, 'x'], b: 1 }, header: frame.header, app_id: frame.app_id, type: 'message' };
    expect(verifyFrame(reordered, pk)).toBe(true);
    for (const altered of [
      { ...signed, header: { ...frame.header, seq: 8 } },
      { ...signed, payload: { b: 2, a: [1, 'x'] } },
      { ...signed, type: 'disconnect' },
      { ...signed, extra: true },
      { ...signed, sig: signed.sig.replace(/^ed25519:./, 'ed25519:A') },
      { ...signed, sig: 'ed25519:AAAA' },
      { ...signed, sig: 12 },
    ]) {
      expect(verifyFrame(altered, pk)).toBe(false);
    }
  });

  it('garbage signatures never throw', () => {
    const input = signingInput(frame);
    for (let i = 0; i < 200; i++) {
      const junk = new Uint8Array(i % 70);
      crypto.getRandomValues(junk);
      expect(verify(input, junk, pk)).toBe(false);
    }
  });
});

describe('parseClientFrame', () => {
  it('normalises UUID case but keeps the raw frame for signature checks', () => {
    const id = crypto.randomUUID().toUpperCase();
    const r = parseClientFrame(JSON.stringify({ type: 'disconnect', app_id: id, reason: 'completed' }));
    expect(r.ok && r.frame.app_id).toBe(id.toLowerCase());
    expect(r.ok && r.raw.app_id).toBe(id);
  });

  it('never throws on random text', () => {
    const samples = ['', ' ', 'null', '0', '"x"', '{}', '{"type":null}', '{"type":"message","header":[]}', '\u0000', '{"type":"register","app_id":{}}'];
    for (let i = 0; i < 300; i++) samples.push(String.fromCharCode(...Array.from({ length: i % 40 }, () => Math.floor(Math.random() * 128))));
    for (const s of samples) {
      const r = parseClientFrame(s);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message.length).toBeGreaterThan(5);
    }
  });
});
