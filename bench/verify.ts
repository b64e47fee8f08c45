/**
 * The verify-bound reference for the signed tier: how many Ed25519
 * signatures node:crypto verifies per second, on the signing inputs of real
 * signed Status frames (same builder the generators use), with prebuilt
 * KeyObjects as the gateway holds them. Once on this thread (one core), once
 * on one worker thread per core.
 */
import { verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { publicKeyObject } from '../gateway/crypto/ed25519.js';
import { newIdentity, verifyCase, type VerifyCase } from './sim/frames.js';

export interface VerifyResult {
  oneCore: number;
  allCores: number;
  threads: number;
  cases: number;
}

export function verifyCases(keys = 64, perKey = 16): VerifyCase[] {
  const out: VerifyCase[] = [];
  for (let k = 0; k < keys; k++) {
    const id = newIdentity('signed');
    for (let seq = 1; seq <= perKey; seq++) out.push(verifyCase(id, seq));
  }
  return out;
}

/** Verifies round-robin over `cases` for `ms`; returns verifies per second. Throws if one fails. */
function verifyLoop(cases: VerifyCase[], ms: number): number {
  const keys = cases.map((c) => publicKeyObject(c.rawPub));
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < cases.length; i++) {
      if (!verify(null, cases[i]!.input, keys[i]!, cases[i]!.sig)) throw new Error('a bench signature did not verify');
    }
    n += cases.length;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

// The worker only needs node:crypto, so it is plain JS evaluated in place (no loader).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const cases = workerData.cases;
const keys = cases.map((c) => createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(c.rawPub)]), format: 'der', type: 'spki' }));
parentPort.postMessage('ready');
parentPort.once('message', (ms) => {
  let n = 0; const t0 = performance.now(); let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < cases.length; i++) if (!verify(null, cases[i].input, keys[i], cases[i].sig)) throw new Error('bad signature');
    n += cases.length; t = performance.now();
  }
  parentPort.postMessage(n / ((t - t0) / 1000));
});
`;

async function verifyAllCores(cases: VerifyCase[], ms: number, threads: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { cases } }));
  try {
    const next = (w: Worker): Promise<unknown> =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    await Promise.all(workers.map(next));
    const rates = workers.map(next);
    for (const w of workers) w.postMessage(ms);
    return (await Promise.all(rates)).reduce((a: number, r) => a + (r as number), 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function runVerify(ms: number): Promise<VerifyResult> {
  const cases = verifyCases();
  verifyLoop(cases, 200); // warm-up
  const oneCore = verifyLoop(cases, ms);
  const threads = availableParallelism();
  const allCores = await verifyAllCores(cases, ms, threads);
  return { oneCore, allCores, threads, cases: cases.length };
}
