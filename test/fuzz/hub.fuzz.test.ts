/**
 * Property-based fuzzing of every client frame type at the hub, with
 * in-memory twins (test/support/hub-harness.ts). Each run starts from a
 * well-formed frame of a live device (open or signed tier), makes one
 * hostile change (signed again afterwards or not), and asserts:
 *   - nothing escaped a handler (hub.stats.internalErrors stays 0; the guard
 *     would have turned it into internal_error);
 *   - the gateway answered: a frame, or a close of that socket;
 *   - an error's text is bounded;
 *   - a refused frame stored nothing (row counts unchanged);
 *   - a well-behaved device still registers and gets its ack.
 * Bounded: FUZZ_RUNS runs per frame type and tier, well under a few seconds each.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iso } from '../../gateway/ports/clock.js';
import type { ServerFrame } from '../../protocol/frames.js';
import { signFrame } from '../../gateway/crypto/frame-signing.js';
import { privateKeyObject } from '../../gateway/crypto/ed25519.js';
import { Device, makeHarness, type FakeConnection, type Harness } from '../support/hub-harness.js';
import { BootDevice } from '../lifecycle/support/boot-device.js';
import { hostileBytes, hostileText, mutation } from './hostile.js';
import { rowCounts } from './rows.js';

const FUZZ_RUNS = Number(process.env.TRAILS_FUZZ_RUNS ?? 60);
type Tier = 'open' | 'signed';
type FrameKind = 'register' | 're_register' | 'Status' | 'Result' | 'Error' | 'disconnect' | 'control_response' | 'bootstrap_register';
const KINDS: FrameKind[] = ['register', 're_register', 'Status', 'Result', 'Error', 'disconnect', 'control_response', 'bootstrap_register'];

interface World {
  h: Harness;
  /** The connection the frame goes on, and the device whose frame it is. */
  c: FakeConnection;
  d: Device;
  signer?: { secretKey: Uint8Array };
  base: Record<string, unknown>;
  /** A frame the gateway takes without a word (a control_response): whether it was taken. */
  takenSilently?: () => boolean;
}

function world(kind: FrameKind, tier: Tier): World {
  const h = makeHarness();
  const { c, d } = h.registered(new Device(undefined, tier));
  switch (kind) {
    case 'register': {
      const d2 = new Device(undefined, tier, d.appId);
      return { h, c: h.connect(), d: d2, signer: d2.keys, base: d2.register({ process_info: { pid: 4, ppid: 1, uid: 1000, gid: 1000, hostname: 'h', start_time: Date.UTC(2026, 0, 1) } }) as Record<string, unknown> };
    }
    case 're_register':
      c.drop();
      h.commit();
      return { h, c: h.connect(), d, signer: d.keys, base: d.reRegister() as Record<string, unknown> };
    case 'Status':
    case 'Result':
    case 'Error':
      return { h, c, d, signer: d.keys, base: d.message({ temp: 21.5, list: [1, 2, { k: 'v' }] }, kind) as Record<string, unknown> };
    case 'disconnect':
      return { h, c, d, signer: d.keys, base: d.disconnect() as Record<string, unknown> };
    case 'control_response': {
      const { correlationId } = h.hub.controls.send({ appId: d.appId, action: 'ping', payload: { n: 1 }, origin: 'admin' });
      h.commit(); // the control, then its delivery
      h.commit();
      const takenSilently = (): boolean => h.store.getControl(correlationId)?.status === 'answered';
      return { h, c, d, signer: d.keys, base: d.controlResponse(correlationId, { ack: true, result: { ok: 1 } }) as Record<string, unknown>, takenSilently };
    }
    case 'bootstrap_register': {
      h.store.transaction((w) => w.putClaimIntent({ parent_pub_key: d.pubKey, app_id: d.appId, created_at: iso(h.clock.now()), expires_at: iso(h.clock.now() + 600_000) }));
      const boot = new BootDevice(d.pubKey, undefined, h.clock.now());
      return { h, c: h.connect(), d, signer: boot.keys, base: boot.bootstrapRegister() };
    }
  }
}

/** Signed again after the change (so the hostile value reaches the checks behind the signature), when it has a canonical form. */
function text(w: World, frame: Record<string, unknown>, resign: boolean, tier: Tier): string {
  let out: Record<string, unknown> = frame;
  if (resign && w.signer && (tier === 'signed' || frame.type === 'bootstrap_register')) {
    const { sig: _sig, ...rest } = frame;
    try {
      out = signFrame(rest, privateKeyObject(w.signer.secretKey));
    } catch {
      /* no canonical form: sent as it is */
    }
  }
  return JSON.stringify(out) ?? 'null';
}

const ACCEPTED = new Set<ServerFrame['type']>(['ack', 'registered', 'bootstrap_pending']);

function expectHandled(w: World, sentBefore: number, before: ReturnType<typeof rowCounts>): void {
  const { h, c } = w;
  expect(h.hub.stats.internalErrors).toBe(0);
  const answers = c.sent.slice(sentBefore);
  expect(answers.length > 0 || c.closed !== undefined || w.takenSilently?.() === true).toBe(true);
  for (const a of answers) if (a.type === 'error') expect(a.message.length).toBeLessThan(1024);
  const refused = answers.some((a) => a.type === 'error') && !answers.some((a) => ACCEPTED.has(a.type));
  if (refused) expect(rowCounts(h.store)).toEqual(before);
}

function expectStillServes(h: Harness): void {
  const { c, d } = h.registered();
  expect(c.last()).toMatchObject({ type: 'registered', app_id: d.appId });
  c.frame(d.message({ fine: true }));
  h.commit();
  expect(c.last()).toMatchObject({ type: 'ack', seq: 1, app_id: d.appId });
}

describe('hub fuzz: hostile variants of every client frame', () => {
  for (const tier of ['open', 'signed'] as const) {
    for (const kind of KINDS) {
      it(`${kind} (${tier})`, () => {
        const sample = world(kind, tier).base;
        fc.assert(
          fc.property(mutation(sample), fc.boolean(), (_m, resign) => {
            const w = world(kind, tier);
            // The mutation was drawn against a sample frame; apply the same change to this world's frame.
            const frame = rebase(_m, sample, w.base);
            const before = rowCounts(w.h.store);
            const sentBefore = w.c.sent.length;
            w.c.frame(text(w, frame, resign, tier));
            w.h.commit();
            expectHandled(w, sentBefore, before);
            expectStillServes(w.h);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });
    }
  }

  it('raw text: garbage, truncated, deeply nested, Infinity numbers, 20,000 members', () => {
    fc.assert(
      fc.property(hostileText, fc.boolean(), (t, fresh) => {
        const h = makeHarness();
        const c = fresh ? h.connect() : h.registered().c;
        const before = rowCounts(h.store);
        const sentBefore = c.sent.length;
        c.frame(t);
        h.commit();
        expectHandled({ h, c, d: new Device(), base: {} }, sentBefore, before);
        expectStillServes(h);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('binary garbage on a fresh socket and on a registered open one', () => {
    fc.assert(
      fc.property(hostileBytes, fc.boolean(), (bytes, fresh) => {
        const h = makeHarness();
        const c = fresh ? h.connect() : h.registered().c;
        const before = rowCounts(h.store);
        const sentBefore = c.sent.length;
        c.sealedFrame(bytes);
        expect(c.sent.slice(sentBefore)).toEqual([expect.objectContaining({ type: 'error', code: 'bad_frame' })]);
        expect(h.hub.stats.internalErrors).toBe(0);
        expect(rowCounts(h.store)).toEqual(before);
        expectStillServes(h);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/**
 * The same change on another world's frame: members the mutation left as
 * they were in the sample take this world's values (ids, keys, seqs, sig).
 */
function rebase(mutated: Record<string, unknown>, sample: Record<string, unknown>, base: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(mutated)) {
    const same = JSON.stringify(mutated[k]) === JSON.stringify(sample[k]) && k in base;
    Object.defineProperty(out, k, { value: same ? base[k] : mutated[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}
