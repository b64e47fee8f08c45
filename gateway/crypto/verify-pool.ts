/**
 * Ed25519 verification on worker threads. In the signed tier verify is most
 * of the cost of a frame (bench/results); on the main thread it would stall
 * parsing, the SQLite commit and the acks.
 *
 * Requests travel in chunks of up to CHUNK, each to the worker with the least
 * work outstanding, so that under load every worker starts while the event
 * loop is still reading sockets (one turn then holds thousands of frames);
 * the rest of a turn goes at its end. A chunk is one ArrayBuffer, transferred,
 * not cloned: per request the key's number, the input's length, the 64-byte
 * signature and the input. A worker learns a public key once (its bytes ride
 * along with the first chunk that needs it) and keeps its KeyObject.
 *
 * The worker is plain JavaScript (eval), so it runs the same from the
 * TypeScript sources under test and from dist/.
 */
import { Worker } from 'node:worker_threads';
import { verify, publicKeyObject } from './ed25519.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
parentPort.on('message', ({ id, buf, count, newKeys }) => {
  for (const [n, raw] of newKeys) {
    keys.set(n, createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(raw)]), format: 'der', type: 'spki' }));
  }
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const ok = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const key = keys.get(view.getUint32(at, true));
    const len = view.getUint32(at + 4, true);
    const sig = bytes.subarray(at + 8, at + 72);
    const input = bytes.subarray(at + 72, at + 72 + len);
    at += 72 + len;
    try { ok[i] = key && verify(null, input, key, sig) ? 1 : 0; } catch { ok[i] = 0; }
  }
  parentPort.postMessage({ id, ok }, [ok.buffer]);
});
`;

/** Per request in a chunk: key number (u32), input length (u32), signature (64 bytes), then the input. */
const HEAD = 72;

/** Requests per message to a worker: small enough to start early, large enough that postMessage is cheap beside it. */
const CHUNK = 128;

interface Request {
  input: Uint8Array;
  sig: Uint8Array;
  key: Uint8Array;
  done: Verdict;
}

/** Called once with the answer; a callback, not a promise: one frame less of garbage and no microtask per frame. */
export type Verdict = (ok: boolean) => void;

interface Batch {
  requests: Request[];
  slot: Slot;
}

/** A worker, the requests it has not answered yet, and the key numbers it knows. */
interface Slot {
  worker: Worker;
  load: number;
  known: Set<number>;
}

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly inFlight = new Map<number, Batch>();
  private current: Request[] = [];
  private scheduled = false;
  private nextId = 1;
  /** A number per public key (by identity: the hub holds one Uint8Array per app). */
  private readonly keyIds = new WeakMap<Uint8Array, number>();
  private nextKey = 1;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves true when `sig` is a valid Ed25519 signature of `input` by the raw 32-byte `key`. */
  verify(input: Uint8Array, sig: Uint8Array, key: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => this.check(input, sig, key, resolve));
  }

  /** `done(true)` when `sig` is a valid signature of `input` by `key`; answered synchronously only if the pool cannot take it. */
  check(input: Uint8Array, sig: Uint8Array, key: Uint8Array, done: Verdict): void {
    if (this.closed || this.slots.length === 0 || sig.length !== 64 || key.length !== 32) {
      return done(verifyHere(input, sig, key));
    }
    this.current.push({ input, sig, key, done });
    if (this.current.length >= CHUNK) this.dispatch();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.dispatch());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dispatch();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    this.scheduled = false;
    const requests = this.current;
    if (requests.length === 0) return;
    this.current = [];
    if (this.closed || this.slots.length === 0) return answerHere(requests);
    const id = this.nextId++;
    const slot = this.leastLoaded();
    const { buf, newKeys } = this.pack(requests, slot.known);
    slot.load += requests.length;
    this.inFlight.set(id, { requests, slot });
    slot.worker.postMessage({ id, buf, count: requests.length, newKeys }, [buf]);
  }

  private pack(requests: Request[], known: Set<number>): { buf: ArrayBuffer; newKeys: Array<[number, Uint8Array]> } {
    let size = 0;
    for (const r of requests) size += HEAD + r.input.length;
    const buf = new ArrayBuffer(size);
    const view = new DataView(buf);
    const bytes = new Uint8Array(buf);
    const newKeys: Array<[number, Uint8Array]> = [];
    let at = 0;
    for (const r of requests) {
      const n = this.keyNumber(r.key);
      if (!known.has(n)) {
        known.add(n);
        newKeys.push([n, r.key]);
      }
      view.setUint32(at, n, true);
      view.setUint32(at + 4, r.input.length, true);
      bytes.set(r.sig, at + 8);
      bytes.set(r.input, at + HEAD);
      at += HEAD + r.input.length;
    }
    return { buf, newKeys };
  }

  private keyNumber(key: Uint8Array): number {
    let n = this.keyIds.get(key);
    if (n === undefined) {
      n = this.nextKey++;
      this.keyIds.set(key, n);
    }
    return n;
  }

  private leastLoaded(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.load < best.load) best = s;
    return best;
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true }), load: 0, known: new Set() };
    const w = slot.worker;
    w.on('message', ({ id, ok }: { id: number; ok: Uint8Array }) => {
      const batch = this.inFlight.get(id);
      this.inFlight.delete(id);
      if (!batch) return;
      slot.load -= batch.requests.length;
      batch.requests.forEach((r, i) => r.done(ok[i] === 1));
    });
    // A worker that dies takes its batches' answers with it: verify those here.
    w.on('error', () => this.recover(slot));
    w.on('exit', () => this.recover(slot));
    // After the listeners: adding a 'message' listener refs the worker again.
    w.unref();
    return slot;
  }

  private recover(dead: Slot): void {
    const i = this.slots.indexOf(dead);
    if (i >= 0) this.slots.splice(i, 1);
    for (const [id, batch] of this.inFlight) {
      if (batch.slot !== dead) continue;
      this.inFlight.delete(id);
      answerHere(batch.requests);
    }
  }
}

function answerHere(requests: Request[]): void {
  for (const r of requests) r.done(verifyHere(r.input, r.sig, r.key));
}

function verifyHere(input: Uint8Array, sig: Uint8Array, key: Uint8Array): boolean {
  if (sig.length !== 64 || key.length !== 32) return false;
  return verify(input, sig, publicKeyObject(key));
}
