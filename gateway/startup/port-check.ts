/**
 * Checks that the listen address can be bound before the database is opened,
 * so that a port in use stops the start before any state is written. The
 * probe is closed at once; the real listen follows a few milliseconds later
 * (a race with another program is possible, and is still reported in one line).
 */
import { createServer } from 'node:net';
import { StartupError } from './errors.js';

export function listenFailure(host: string, port: number, e: unknown): StartupError {
  const code = (e as { code?: string }).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') return new StartupError(`cannot listen on ${where}: the port is in use by another program (choose another with --listen)`);
  if (code === 'EACCES') return new StartupError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges; choose another with --listen)`);
  if (code === 'EADDRNOTAVAIL') return new StartupError(`cannot listen on ${where}: the address is not on this machine`);
  return new StartupError(`cannot listen on ${where}: ${(e as Error).message}`);
}

export function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) => reject(listenFailure(host, port, e)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
