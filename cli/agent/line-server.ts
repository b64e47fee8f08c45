/**
 * The agent's Unix socket: one JSON line in, one JSON line out, then close.
 * The socket file is private (0600, in a 0700 directory); a stale file left
 * by an agent that died is removed, a live one is an error.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { CliError } from '../errors.js';

const MAX_REQUEST = 1 << 20;

export type LineHandler = (request: unknown) => Promise<object>;

export class LineServer {
  private server: Server | null = null;

  constructor(
    readonly path: string,
    private readonly handler: LineHandler,
  ) {}

  /** Fails when another process already serves this path. */
  static async claim(path: string, what: string): Promise<void> {
    if (!existsSync(path)) return;
    const alive = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (alive) throw new CliError(`${what} is already running (${path})`);
    unlinkSync(path);
  }

  listen(): Promise<void> {
    const server = createServer((sock) => this.serve(sock));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        try {
          chmodSync(this.path, 0o600);
        } catch {
          /* the directory is private anyway */
        }
        resolve();
      });
    });
  }

  /** Stops accepting; resolves once the connections in progress have been answered. The socket file goes. */
  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve(this.unlink());
    return new Promise((resolve) => server.close(() => resolve(this.unlink())));
  }

  private unlink(): void {
    try {
      if (existsSync(this.path)) unlinkSync(this.path);
    } catch {
      /* gone already */
    }
  }

  private serve(sock: Socket): void {
    let buf = '';
    let handled = false;
    const answer = (reply: object): void => void sock.end(`${JSON.stringify(reply)}\n`);
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      if (handled) return;
      buf += chunk;
      if (buf.length > MAX_REQUEST) return ((handled = true), answer({ ok: false, code: 'too_large', message: 'request too large' }));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      handled = true;
      let req: unknown;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        return answer({ ok: false, code: 'bad_request', message: 'not JSON' });
      }
      Promise.resolve(req)
        .then((r) => this.handler(r))
        .catch((err: unknown) => ({ ok: false, code: 'internal', message: String(err) }))
        .then(answer);
    });
  }
}
