/**
 * Opens trails.db for the gateway, turning what can go wrong with the file
 * into one line that names it and says what to do. Nothing is ever deleted or
 * recreated here: a damaged database is the operator's to restore.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SchemaTooNewError } from '../store/sqlite/migrations.js';
import { openSqliteStore, StoreReadOnlyError, type SqliteStore, type SqliteStoreOptions } from '../store/sqlite/sqlite-store.js';
import { causeOf, codeOf, StartupError } from './errors.js';

export function openGatewayStore(path: string, opts: SqliteStoreOptions): SqliteStore {
  checkWritable(path);
  try {
    return openSqliteStore(path, opts);
  } catch (e) {
    throw storeFailure(path, e);
  }
}

/** Checked first, so that SQLite never opens a read-only file and leaves -wal/-shm files behind. */
function checkWritable(path: string): void {
  checkWritableDir(dirname(path));
  if (!existsSync(path)) return;
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw new StartupError(`cannot write database ${path}: ${causeOf(e)}; make it writable for this user (nothing was changed)`);
  }
}

/** The data directory must take new files (-wal, -shm, keys, the lock). */
export function checkWritableDir(dir: string): void {
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new StartupError(`cannot write the data directory ${dir}: ${causeOf(e)}; the gateway needs to create files there (check the mount, mode, owner and attributes)`);
  }
}

/** The one line for an error met while opening or first reading the database. */
export function storeFailure(path: string, e: unknown): Error {
  if (e instanceof StartupError) return e;
  if (e instanceof SchemaTooNewError) {
    return new StartupError(`database ${path} has schema version ${e.found} but this gateway knows versions up to ${e.known}: run the newer gateway that wrote it (nothing was changed)`);
  }
  if (e instanceof StoreReadOnlyError) {
    return new StartupError(`database ${path} is read-only (the file, its directory or the file system): make it writable for this user; nothing was changed`);
  }
  const code = codeOf(e) ?? '';
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT_')) {
    return new StartupError(`database ${path} is damaged (${(e as Error).message}): stop here, keep the file, and restore trails.db from a backup (or salvage it with "sqlite3 ${path} .recover"); the gateway never deletes it`);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_PERM' || code === 'SQLITE_FULL') {
    return new StartupError(`cannot open database ${path}: ${(e as Error).message} (${code}); check the data directory's space, mode and owner`);
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StartupError(`database ${path} is locked by another program (${(e as Error).message})`);
  }
  return e instanceof Error ? e : new Error(String(e));
}
