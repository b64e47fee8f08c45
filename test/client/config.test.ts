import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { childConfig, decodeTrailsInfo, encodeTrailsInfo, toWsUrl, TrailsConfigError, withJoinToken, type TrailsConfig } from '../../client/config.js';
import { generateKeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';

const serverPubKey = encodePublicKey(generateKeyPair().publicKey);
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o), 'utf8').toString('base64');

function sample(over: Partial<TrailsConfig> = {}): TrailsConfig {
  return {
    v: 1,
    appId: '550e8400-e29b-41d4-a716-446655440000',
    parentId: '440e7300-d18a-40c3-b605-335544330000',
    appName: 'pii-scan-step1',
    serverEp: 'wss://trails.local:8443/ws',
    serverPubKey,
    secLevel: 'signed',
    scheduledAt: 1740000000000,
    startDeadline: 300,
    originator: { sub: 'someone@example.com', groups: ['data-eng'] },
    roleRefs: ['sre-on-call'],
    tags: { dagRun: 'daily', step: '3', ünï: 'cödé' },
    ...over,
  };
}

function refusal(text: string): TrailsConfigError {
  try {
    decodeTrailsInfo(text);
  } catch (e) {
    expect(e).toBeInstanceOf(TrailsConfigError);
    return e as TrailsConfigError;
  }
  throw new Error('decoded');
}

describe('TRAILS_INFO', () => {
  it('round-trips through standard padded base64 of UTF-8 JSON', () => {
    const cfg = sample();
    const text = encodeTrailsInfo(cfg);
    expect(text).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(text.length % 4).toBe(0);
    const json = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    expect(json.appId).toBe(cfg.appId);
    expect(json.serverEp).toBe(cfg.serverEp);
    expect(decodeTrailsInfo(text)).toEqual(cfg);
  });

  it('decodes the spec example with defaults filled in', () => {
    const cfg = decodeTrailsInfo(b64({ v: 1, appId: randomUUID().toUpperCase(), appName: 'x', serverEp: 'http://gw:8443', secLevel: 'open' }));
    expect(cfg.appId).toBe(cfg.appId.toLowerCase());
    expect(cfg.parentId).toBeNull();
    expect(cfg.roleRefs).toEqual([]);
    expect(cfg.serverPubKey).toBeNull();
  });

  it('tolerates surrounding whitespace and missing padding', () => {
    const text = encodeTrailsInfo(sample()).replace(/=+$/, '');
    expect(decodeTrailsInfo(`  ${text}\n`).appName).toBe('pii-scan-step1');
  });

  it('refuses bad input with errors that say what is wrong', () => {
    expect(refusal('').message).toMatch(/empty/);
    expect(refusal('not base64!!').message).toMatch(/base64/);
    expect(refusal('-_-_').message).toMatch(/base64/);
    expect(refusal(Buffer.from('{nope').toString('base64')).message).toMatch(/JSON/);
    expect(refusal(b64([1, 2])).message).toMatch(/object/);
    expect(refusal(b64({ ...sample(), v: 2 })).field).toBe('v');
    expect(refusal(b64({ ...sample(), appId: 'abc' })).field).toBe('appId');
    expect(refusal(b64({ ...sample(), parentId: 42 })).field).toBe('parentId');
    expect(refusal(b64({ ...sample(), appName: '' })).field).toBe('appName');
    expect(refusal(b64({ ...sample(), serverEp: 'ftp://x' })).message).toMatch(/scheme/);
    expect(refusal(b64({ ...sample(), serverEp: 'not a url' })).field).toBe('serverEp');
    expect(refusal(b64({ ...sample(), secLevel: 'paranoid' })).field).toBe('secLevel');
    expect(refusal(b64({ ...sample(), serverPubKey: 'ed25519:AAAA' })).field).toBe('serverPubKey');
    expect(refusal(b64({ ...sample(), serverPubKey: null })).message).toMatch(/required for the signed tier/);
    expect(refusal(b64({ ...sample(), scheduledAt: -1 })).field).toBe('scheduledAt');
    expect(refusal(b64({ ...sample(), roleRefs: [1] })).field).toBe('roleRefs');
    expect(refusal(b64({ ...sample(), tags: 'x' })).field).toBe('tags');
  });

  it('maps serverEp to the device endpoint', () => {
    expect(toWsUrl('http://gw:8443')).toBe('ws://gw:8443/ws');
    expect(toWsUrl('https://gw.example/')).toBe('wss://gw.example/ws');
    expect(toWsUrl('ws://127.0.0.1:1234/ws')).toBe('ws://127.0.0.1:1234/ws');
    expect(toWsUrl('wss://gw/trails')).toBe('wss://gw/trails/ws');
    expect(toWsUrl('ws://gw/ws?x=1')).toBe('ws://gw/ws?x=1');
    // The registration gate's token rides in the query: kept, also when /ws is appended.
    expect(toWsUrl('http://gw:8443?join=abc')).toBe('ws://gw:8443/ws?join=abc');
  });

  it('puts a join token into serverEp with /ws spelled out, and never hands a parent\'s token to its child', () => {
    expect(withJoinToken('http://gw:8443', 'T1')).toBe('ws://gw:8443/ws?join=T1');
    expect(withJoinToken('ws://gw:8443/ws?join=old', 'T2')).toBe('ws://gw:8443/ws?join=T2');
    const parent = { ...sample(), serverEp: 'ws://gw:8443/ws?join=PARENTTOKEN' };
    expect(childConfig(parent, 'w').serverEp).toBe('ws://gw:8443/ws');
  });

  it('makes child configs under the same gateway and tier', () => {
    const parent = sample();
    const child = childConfig(parent, 'worker', { now: 1234 });
    expect(child.appId).not.toBe(parent.appId);
    expect(child.appId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(child).toMatchObject({ parentId: parent.appId, appName: 'worker', serverEp: parent.serverEp, serverPubKey, secLevel: 'signed', scheduledAt: 1234 });
    expect(decodeTrailsInfo(encodeTrailsInfo(child))).toEqual(child);
  });
});
