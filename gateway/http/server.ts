/**
 * The HTTP side: fastify for requests, and an upgrade router that hands
 * WebSocket upgrades to whoever registered their path (/ws for devices;
 * /api/v1/watch). Building the app never listens, so tests can use
 * app.inject() without a port (the fastify demo's app/server split).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpOptions {
  logger: Logger;
  tls?: { cert: Buffer; key: Buffer };
  /** True once the store is open and the hub started; /healthz answers 200 from then on. */
  ready: () => boolean;
  /** Extra facts for /healthz (counts, version). */
  health: () => Record<string, unknown>;
}

export function buildHttp(opts: HttpOptions): { app: FastifyInstance; upgrades: Map<string, UpgradeHandler> } {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    // Strict validation for the API (gateway/api/schemas.ts): a body field is
    // never coerced ("5" stays a string and fails), and an unknown field or
    // query parameter is an error rather than silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  const upgrades = new Map<string, UpgradeHandler>();

  // Routes outside the API (which has its own handler, api/plugin.ts): a
  // client error keeps fastify's status and message, anything else is a bare
  // 500 that says nothing internal (no stack, no message).
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: { code: 'bad_request', message: String(err.message).slice(0, 256) } });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'the gateway failed to answer this request; it has been logged' } });
  });

  app.get('/healthz', async (_req, reply) => {
    const ready = opts.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting', ...opts.health() });
  });

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handler = upgrades.get(path);
    if (handler) return handler(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return { app, upgrades };
}
