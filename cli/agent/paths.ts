/**
 * Where a session agent listens: one Unix socket per app in a private
 * runtime directory (mode 0700): TRAILS_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/trails, else <tmpdir>/trails-<uid>.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import type { Env } from '../settings.js';

export function runtimeDir(env: Env): string {
  if (env.TRAILS_RUNTIME_DIR) return env.TRAILS_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'trails');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `trails-${uid}`);
}

/** Creates the directory if needed and refuses one that others can enter. */
export function ensureRuntimeDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (st.uid !== uid) throw new CliError(`the runtime directory ${dir} belongs to another user; set TRAILS_RUNTIME_DIR`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

export function socketPath(dir: string, appId: string): string {
  return join(dir, `${appId}.sock`);
}

export function logPath(dir: string, appId: string): string {
  return join(dir, `${appId}.log`);
}
