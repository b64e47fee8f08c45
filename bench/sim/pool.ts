/**
 * The load generator as seen by a bench: N generator processes (bench/sim/child.ts,
 * forked with tsx), each with its share of the devices, or with N = 0 one
 * fleet in this process (tests). call() runs a Fleet method everywhere and
 * returns the answers in process order.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, track } from '../lib/children.js';
import { Fleet, type FleetConfig } from './fleet.js';

export type FleetMethod = 'prepare' | 'connect' | 'go' | 'mark' | 'state' | 'markKill' | 'drain' | 'ledger' | 'close';
type Result<M extends FleetMethod> = Awaited<ReturnType<Fleet[M]>>;

export interface Pool {
  readonly pids: number[];
  call<M extends FleetMethod>(method: M, ...args: Parameters<Fleet[M]>): Promise<Array<Result<M>>>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export async function startPool(cfg: FleetConfig, procs: number): Promise<Pool> {
  if (procs <= 0) return inProcess(new Fleet(cfg));
  const shares = split(cfg.devices, procs);
  const children = shares.map((devices, i) => new Remote({ ...cfg, devices, namePrefix: `${cfg.namePrefix}-p${i}` }));
  await Promise.all(children.map((c) => c.ready));
  return {
    pids: children.map((c) => c.child.pid!),
    call: (method, ...args) => Promise.all(children.map((c) => c.call(method, args))) as never,
    close: async () => {
      await Promise.all(children.map((c) => c.call('close', []).catch(() => undefined)));
      await Promise.all(children.map((c) => c.end()));
    },
  };
}

function inProcess(fleet: Fleet): Pool {
  return {
    pids: [process.pid],
    call: async (method, ...args) => [await (fleet[method] as (...a: unknown[]) => unknown).apply(fleet, args)] as never,
    close: () => fleet.close(),
  };
}

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

class Remote {
  readonly child: ChildProcess;
  readonly ready: Promise<unknown>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(cfg: FleetConfig) {
    this.child = track(fork(CHILD, [], { execArgv: ['--import', 'tsx', '--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(`generator ${this.child.pid}: ${m.error}`));
      else p?.resolve(m.result);
    });
    this.child.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`generator ${this.child.pid} exited (${code})`));
      this.pending.clear();
    });
    this.ready = this.call('init', [cfg]);
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    if (!this.child.connected) return Promise.reject(new Error(`generator ${this.child.pid} is gone`));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, method, args });
    });
  }

  async end(): Promise<void> {
    const done = exited(this.child);
    if (this.child.connected) this.child.disconnect();
    await done;
  }
}
