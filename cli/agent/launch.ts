/**
 * Starts a session agent as a detached process (its own session, so the
 * shell's job control and SIGHUP do not reach it), hands it the app's key
 * over IPC (never on a command line), and waits until it has registered.
 * Its log goes to <runtime dir>/<app id>.log.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.js';
import type { AgentSpec } from './protocol.js';

export interface AgentMessage {
  type: 'ready' | 'failed';
  lastSeq?: number;
  message?: string;
}

/** node + the agent entry next to this file: agent/main.js when built, agent/main.ts (through tsx) from source. */
function agentCommand(): { args: string[]; cwd: string } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const entry = join(dirname(here), `main${ext}`);
  if (ext === '.ts') {
    // From source (tests, development): tsx loads TypeScript; resolve it from the project root.
    const root = resolve(dirname(here), '..', '..');
    return { args: ['--import', 'tsx', entry], cwd: root };
  }
  return { args: [entry], cwd: '/' };
}

export function spawnAgent(logFile: string, timeoutMs = 20_000): (spec: AgentSpec) => Promise<{ lastSeq: number; pid: number | null }> {
  return (spec) =>
    new Promise((resolvePromise, reject) => {
      const { args, cwd } = agentCommand();
      const log = openSync(logFile, 'a', 0o600);
      const child = spawn(process.execPath, args, { cwd, detached: true, stdio: ['ignore', log, log, 'ipc'], env: process.env });
      closeSync(log);
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (child.connected) child.disconnect();
        child.unref();
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new CliError(`the session agent did not start within ${timeoutMs / 1000} s (see ${logFile})`)));
        child.kill();
      }, timeoutMs);
      child.on('message', (m: AgentMessage) => {
        if (m.type === 'ready') finish(() => resolvePromise({ lastSeq: m.lastSeq ?? 0, pid: child.pid ?? null }));
        else finish(() => reject(new CliError(m.message ?? `the session agent failed (see ${logFile})`)));
      });
      child.on('error', (err) => finish(() => reject(new CliError(`cannot start the session agent: ${err.message}`))));
      child.on('exit', (code) => finish(() => reject(new CliError(`the session agent exited (${code ?? 'signal'}) before it registered; see ${logFile}`))));
      child.send({ type: 'start', spec });
    });
}
