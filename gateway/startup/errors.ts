/**
 * Start-up failures the operator can act on: one line each, naming the file
 * or port, printed by main.ts without a stack (an unexpected error keeps its
 * stack). Each check runs before anything in the data directory is written.
 */
export class StartupError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The errno code of a Node or SQLite error, if it has one. */
export function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Words for the errno codes a data directory or a port meets in practice. */
export function causeOf(e: unknown): string {
  switch (codeOf(e)) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file stands where a directory is expected';
    case 'EISDIR':
      return 'a directory stands where a file is expected';
    case 'ENOENT':
      return 'it does not exist';
    default:
      return (e as Error)?.message ?? String(e);
  }
}
