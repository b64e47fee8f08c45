import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, privateKeyObject, sign } from '../../gateway/crypto/ed25519.js';
import { VerifyPool } from '../../gateway/crypto/verify-pool.js';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { Device, makeHarness } from '../support/hub-harness.js';

let pool: VerifyPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('verify pool', () => {
  it('answers each request of a batch, true for good signatures and false for the rest', async () => {
    pool = new VerifyPool(2);
    const kp = generateKeyPair();
    const sk = privateKeyObject(kp.secretKey);
    const inputs = Array.from({ length: 300 }, (_, i) => Buffer.from(`frame ${i}`));
    const answers = await Promise.all(
      inputs.map((input, i) => {
        const sig = sign(input, sk);
        if (i % 3 === 1) sig[0]! ^= 1;
        return pool!.verify(input, i % 3 === 2 ? sig.subarray(0, 10) : sig, kp.publicKey);
      }),
    );
    expect(answers).toEqual(inputs.map((_, i) => i % 3 === 0));
  });

  it('keeps many keys apart across workers, and a key seen again is not resent', async () => {
    pool = new VerifyPool(2);
    const pairs = Array.from({ length: 20 }, () => generateKeyPair());
    const ask = (round: number) =>
      Promise.all(
        pairs.flatMap((kp, k) =>
          Array.from({ length: 10 }, (_, i) => {
            const input = Buffer.from(`round ${round} key ${k} frame ${i}`);
            const other = pairs[(k + 1) % pairs.length]!;
            // Every third request is signed by the neighbouring key: a different key must not verify.
            const signer = i % 3 === 0 ? other : kp;
            return pool!.verify(input, sign(input, privateKeyObject(signer.secretKey)), kp.publicKey);
          }),
        ),
      );
    const expected = pairs.flatMap(() => Array.from({ length: 10 }, (_, i) => i % 3 !== 0));
    expect(await ask(1)).toEqual(expected);
    expect(await ask(2)).toEqual(expected);
  });

  it('answers the requests of a worker that died, here', async () => {
    pool = new VerifyPool(1);
    const kp = generateKeyPair();
    const input = Buffer.from('y');
    const pending = pool.verify(input, sign(input, privateKeyObject(kp.secretKey)), kp.publicKey);
    await (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots[0]!.worker.terminate();
    await expect(pending).resolves.toBe(true);
    expect(pool.size).toBe(0);
  });

  it('verifies inline once closed', async () => {
    pool = new VerifyPool(1);
    await pool.close();
    const kp = generateKeyPair();
    const input = Buffer.from('x');
    await expect(pool.verify(input, sign(input, privateKeyObject(kp.secretKey)), kp.publicKey)).resolves.toBe(true);
  });
});

describe('hub with verify workers', () => {
  /** Two good messages around a forged one, then a disconnect that must not overtake them. */
  async function orderedRun(verifier: VerifyPool): Promise<void> {
    const h = makeHarness({}, new MemoryStore(), verifier);
    const c = h.connect();
    const d = new Device(undefined, 'signed');
    c.frame(d.register());
    h.commit();
    c.frame(d.message({ n: 1 }));
    const bad = d.message({ n: 2 }) as Record<string, unknown>;
    c.frame({ ...bad, payload: { n: 'forged' } });
    c.frame(d.message({ n: 3 }));
    c.frame(d.disconnect('completed')); // must not overtake the messages before it
    await new Promise((r) => setTimeout(r, 200));
    h.commit();
    expect(h.store.messages(d.appId).map((m) => m.payload_json)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(c.ofType('error').map((e) => [e.code, e.seq])).toEqual([['bad_signature', 2]]);
    expect(h.store.getApp(d.appId)?.status).toBe('done');
    expect(c.ofType('ack').map((a) => a.seq)).toEqual([1, 3]);
  }

  it("keeps each connection's frame order while signatures are checked aside, and refuses bad ones", async () => {
    pool = new VerifyPool(1);
    await orderedRun(pool);
  });

  it('keeps the same order when the pool answers at once (closed: verified inline)', async () => {
    pool = new VerifyPool(1);
    await pool.close();
    await orderedRun(pool);
  });
});
