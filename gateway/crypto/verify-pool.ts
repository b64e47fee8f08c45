/**
 * Ed25519 verification on worker threads. In the signed tier verify is most
 * of the cost of a frame (bench/results); on the main thread it would stall
 * parsing, the SQLite commit and the acks. Requests of one event-loop turn
 * travel to a worker as one batch; each worker keeps the KeyObjects of the
 * keys it has seen. The worker is plain JavaScript (eval), so it runs the
 * same from the TypeScript sources under test and from dist/.
 */
import { Worker } from 'node:worker_threads';
import { verify, publicKeyObject } from './ed25519.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
function keyOf(raw) {
  const id = Buffer.from(raw).toString('base64');
  let k = keys.get(id);
  if (!k) {
    if (keys.size > 50000) keys.clear();
    k = createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(raw)]), format: 'der', type: 'spki' });
    keys.set(id, k);
  }
  return k;
}
parentPort.on('message', ({ id, items }) => {
  const ok = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const [input, sig, key] = items[i];
    try { ok[i] = sig.length === 64 && verify(null, input, keyOf(key), sig) ? 1 : 0; } catch { ok[i] = 0; }
  }
  parentPort.postMessage({ id, ok });
});
`;

type Item = [input: Uint8Array, sig: Uint8Array, key: Uint8Array];

interface Batch {
  items: Item[];
  resolves: Array<(ok: boolean) => void>;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly inFlight = new Map<number, Batch>();
  private current: Batch = { items: [], resolves: [] };
  private scheduled = false;
  private nextId = 1;
  private turn = 0;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves true when `sig` is a valid Ed25519 signature of `input` by the raw 32-byte `key`. */
  verify(input: Uint8Array, sig: Uint8Array, key: Uint8Array): Promise<boolean> {
    if (this.closed || this.workers.length === 0) return Promise.resolve(verify(input, sig, publicKeyObject(key)));
    return new Promise((resolve) => {
      this.current.items.push([input, sig, key]);
      this.current.resolves.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dispatch();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    this.scheduled = false;
    const batch = this.current;
    if (batch.items.length === 0) return;
    this.current = { items: [], resolves: [] };
    if (this.closed) return this.verifyHere(batch);
    const id = this.nextId++;
    this.inFlight.set(id, batch);
    this.workers[this.turn++ % this.workers.length]!.postMessage({ id, items: batch.items });
  }

  private spawn(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', ({ id, ok }: { id: number; ok: Uint8Array }) => {
      const batch = this.inFlight.get(id);
      this.inFlight.delete(id);
      batch?.resolves.forEach((resolve, i) => resolve(ok[i] === 1));
    });
    // A worker that dies takes its batches' answers with it: verify those here.
    w.on('error', () => this.recover(w));
    w.on('exit', () => this.recover(w));
    return w;
  }

  private recover(dead: Worker): void {
    const i = this.workers.indexOf(dead);
    if (i >= 0) this.workers.splice(i, 1);
    for (const [id, batch] of this.inFlight) {
      this.inFlight.delete(id);
      this.verifyHere(batch);
    }
  }

  private verifyHere(batch: Batch): void {
    batch.items.forEach(([input, sig, key], i) => batch.resolves[i]!(verify(input, sig, publicKeyObject(key))));
  }
}
