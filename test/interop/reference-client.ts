/**
 * Finds the reference Python client at test time. It is never part of this
 * repository: it is read in place from `../shared/reference/trails-client-python/`
 * beside the checkout (the folder every machine and CI has, as the
 * conformance scenarios are read; TRAILS_REF_CLIENT overrides it), and run
 * unchanged by a Python that has websockets and PyNaCl
 * (scripts/install-test-deps.sh installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED = resolve(ROOT, '..', 'shared');
const DEFAULT_CLIENT = join(SHARED, 'reference', 'trails-client-python');

export interface ReferenceClient {
  /** The directory that holds the `trails` package (goes on PYTHONPATH). */
  clientDir: string;
  python: string;
  cleanup(): void;
}

export type Lookup = { ok: true; client: ReferenceClient } | { ok: false; reason: string };

/**
 * The client, or why the interop tests skip. Only an absent ../shared (a
 * checkout without its sibling folder) or a Python without the two modules
 * is a reason to skip; a ../shared without the client is an error, since
 * that means the shared folder is broken, not absent.
 */
export function findReferenceClient(env: NodeJS.ProcessEnv = process.env): Lookup {
  const override = env.TRAILS_REF_CLIENT;
  if (!override && !existsSync(SHARED)) return { ok: false, reason: `no ${SHARED} beside the checkout (it holds reference/trails-client-python)` };
  const clientDir = override || DEFAULT_CLIENT;
  if (!existsSync(join(clientDir, 'trails', 'client.py'))) throw new Error(`the reference Python client is not at ${clientDir} (expected trails/client.py there)`);
  const python = findPython(env);
  if (!python) return { ok: false, reason: 'no python3 that can "import websockets, nacl" (scripts/install-test-deps.sh, or apt-get install python3-websockets python3-nacl, or set TRAILS_PYTHON)' };
  const probe = spawnSync(python, ['-c', 'from trails import TrailsClient, TrailsConfig'], { env: pythonEnv(clientDir) });
  if (probe.status !== 0) throw new Error(`the reference client at ${clientDir} does not import: ${probe.stderr.toString().trim()}`);
  return { ok: true, client: { clientDir, python, cleanup: () => {} } };
}

function findPython(env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [env.TRAILS_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => spawnSync(p, ['-c', 'import websockets, nacl']).status === 0);
}

function pythonEnv(clientDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { TRAILS_INFO: _ignored, ...env } = process.env;
  return { ...env, PYTHONPATH: clientDir, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...extra };
}

/** A running driver script: its stdout lines are the events the test waits for. */
export class PythonRun {
  readonly lines: string[] = [];
  private stderr = '';
  private exitCode: number | null | undefined;
  private readonly proc: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(client: ReferenceClient, script: string, args: string[], env: Record<string, string> = {}) {
    this.proc = spawn(client.python, [script, ...args], { env: pythonEnv(client.clientDir, env), stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.proc.stderr!.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve((this.exitCode = code))));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async line(text: string, timeoutMs = 15_000): Promise<void> {
    await until(() => this.lines.includes(text) || this.exitCode !== undefined, timeoutMs, `"${text}" from the driver`);
    if (!this.lines.includes(text)) throw new Error(`driver exited (${this.exitCode}) without "${text}"\n${this.transcript()}`);
  }

  /** Waits for the script to end; a non-zero exit fails with its output. */
  async finished(timeoutMs = 20_000): Promise<void> {
    await until(() => this.exitCode !== undefined, timeoutMs, 'the driver to exit').catch((e: Error) => {
      throw new Error(`${e.message}\n${this.transcript()}`);
    });
    if (this.exitCode !== 0) throw new Error(`driver exited with ${this.exitCode}\n${this.transcript()}`);
    await this.exited;
  }

  kill(): void {
    if (this.exitCode === undefined) this.proc.kill('SIGKILL');
  }

  transcript(): string {
    return `stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`;
  }
}

/** Polls `probe` until it returns something truthy; fails after timeoutMs. */
export async function until<T>(probe: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
