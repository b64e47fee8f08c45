/**
 * One data directory, one gateway. The lock is an SQLite file held in
 * exclusive locking mode after a write: SQLite then keeps a POSIX write lock
 * on it for as long as the connection is open, which the kernel drops when
 * the process dies (kill -9 included), so a crash never leaves a stale lock.
 * Node has no flock; this uses the SQLite binding the store already needs.
 * SQLite also tracks locks per inode inside one process, so a second gateway
 * started in the same process (tests) is refused as well.
 *
 * The PID of the holder is written beside it (gateway.pid), for the refusal
 * message only: the lock, not the PID file, decides.
 */
import Database from 'better-sqlite3';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { causeOf, codeOf, StartupError } from './errors.js';

export const LOCK_FILE = 'gateway.lock';
export const PID_FILE = 'gateway.pid';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

export function lockDataDir(dataDir: string, label = 'trailsd'): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (e) {
    throw new StartupError(`cannot open the lock file ${path}: ${causeOf(e)}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // No journal file beside the lock: there is nothing in it to protect.
    db.pragma('journal_mode = MEMORY');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (e) {
    db.close();
    if (codeOf(e) === 'SQLITE_BUSY' || codeOf(e) === 'SQLITE_LOCKED') {
      throw new StartupError(`data directory ${dataDir} is in use by ${holderOf(dataDir)} (lock ${path}); stop it first or choose another --data-dir`);
    }
    throw new StartupError(`cannot take the lock ${path}: ${codeOf(e) === 'SQLITE_READONLY' ? 'the data directory or the lock file is read-only' : causeOf(e)}`);
  }
  tighten(path);
  const pidPath = join(dataDir, PID_FILE);
  try {
    writeFileSync(pidPath, `${process.pid} ${label}\n`, { mode: 0o600 });
  } catch {
    // The lock holds without it; only the refusal of a second gateway is less precise.
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      rmSync(pidPath, { force: true });
      db.close();
    },
  };
}

/** "trailsd PID 1234" from gateway.pid, or a plain "another process" when it cannot be read. */
function holderOf(dataDir: string): string {
  try {
    const [pid, label] = readFileSync(join(dataDir, PID_FILE), 'utf8').trim().split(/\s+/);
    if (pid && /^\d+$/.test(pid)) return `${label ?? 'a process'} PID ${pid}`;
  } catch {
    // fall through
  }
  return 'another process';
}

function tighten(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch {
    // best effort: it holds no secret
  }
}
