/**
 * The REST API under /api/v1 as one encapsulated fastify plugin: its own
 * JSON parser (which keeps the raw bytes, since the signature covers them),
 * authentication before validation (an unsigned request is a 401 whatever
 * its body), one error shape, and the routes of routes-read.ts and
 * routes-write.ts. The watch WebSocket is watch.ts, on the upgrade router.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestAuthenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { DeviceHub } from '../device/hub.js';
import type { GatewayStore } from '../store/types.js';
import type { RefusalTally } from '../audit/refusal-tally.js';
import { ApiContext, caller, type RouteDef } from './context.js';
import { ApiError, badRequest, describeError, errorBody } from './errors.js';
import { checkJsonBudget } from '../../protocol/json-budget.js';
import { buildOpenApi } from './openapi.js';
import { readRoutes } from './routes-read.js';
import { writeRoutes } from './routes-write.js';
import { claimRoutes } from './routes-claim.js';
import { lifecycleRoutes } from './routes-lifecycle.js';
import { joinRoutes } from './routes-join.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every route that is not open. */
    principal?: Principal;
  }
}

export interface ApiDeps {
  hub: DeviceHub;
  store: GatewayStore;
  auth: RequestAuthenticator;
  version?: string;
  /** Counts the refusals of unauthenticated requests; ApiContext makes a default one without it. */
  refusals?: RefusalTally;
  /** The gateway's health figures (the same as /healthz), for GET /api/v1/health. */
  health?: () => object;
  onInternalError?: (err: unknown, req: FastifyRequest) => void;
}

interface RouteConfig {
  action: string;
  open?: boolean;
  optionalBody?: boolean;
}

export const API_PREFIX = '/api/v1';
/** Largest request body of the API (bytes): a control payload is bounded by the device's frame limit (64 KiB by default) anyway. */
export const API_BODY_LIMIT = 256 * 1024;
const MAX_ERROR_MESSAGE = 512;
export const API_ROUTES: readonly RouteDef[] = [...readRoutes, ...writeRoutes, ...claimRoutes, ...lifecycleRoutes, ...joinRoutes];

/** Registers the API on `app`; resolves once its routes exist. */
export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<ApiContext> {
  const ctx = new ApiContext(deps.hub, deps.store, deps.refusals, deps.health);
  const openapi = buildOpenApi(API_ROUTES, deps.version ?? '0.1.0');
  await app.register(
    async (api) => {
      api.decorateRequest('principal', undefined);
      api.removeContentTypeParser('application/json');
      // Kept as bytes here; parsed after authentication, which hashes them. No API body needs more than API_BODY_LIMIT (413 beyond).
      api.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: API_BODY_LIMIT }, (_req, body, done) => done(null, body));
      api.addHook('preValidation', (req, reply) => authenticateAndParse(ctx, deps.auth, req, reply));
      api.setErrorHandler((err, req, reply) => {
        const { status, body, expected } = describeError(err as Error);
        if (!expected) deps.onInternalError?.(err, req);
        // A message may quote the request (a field name, a parser's excerpt): bounded, whatever was sent.
        if (body.error.message.length > MAX_ERROR_MESSAGE) body.error.message = `${body.error.message.slice(0, MAX_ERROR_MESSAGE - 3)}...`;
        return reply.code(status).send(body);
      });
      api.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not_found', `no endpoint ${req.method} ${req.url.split('?')[0]}`)));
      for (const r of API_ROUTES) route(api, ctx, r);
      api.get('/openapi.json', { config: { action: 'openapi', open: true } satisfies RouteConfig }, async () => openapi);
    },
    { prefix: API_PREFIX },
  );
  return ctx;
}

function route(api: FastifyInstance, ctx: ApiContext, r: RouteDef): void {
  const optionalBody = r.schema.body !== undefined && ((r.schema.body as { required?: string[] }).required ?? []).length === 0;
  api.route({
    method: r.method,
    url: r.url,
    schema: r.schema,
    config: { action: r.action, optionalBody } satisfies RouteConfig,
    handler: (req, reply) => r.handler(ctx, req, reply),
  });
}

async function authenticateAndParse(ctx: ApiContext, auth: RequestAuthenticator, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  const config = req.routeOptions.config as unknown as RouteConfig;
  if (!config.open) {
    const out = await auth.authenticate({ method: req.method, url: req.url, headers: req.headers, ...(raw ? { body: raw } : {}) });
    if (!out.ok) {
      const { status, code, message } = out.failure;
      await ctx.audit(caller(req), {
        action: config.action ?? 'unknown', target: null, outcome: `refused:${status}:${code}`,
        payload: { method: req.method, path: req.url, key: out.facts?.key ?? null, app_id: out.facts?.app_id ?? null, message },
      });
      return reply.code(status).send(errorBody(code, message));
    }
    req.principal = out.principal;
  }
  req.body = parseBody(raw);
  if (req.body === undefined && config.optionalBody) req.body = {};
  return undefined;
}

/** The same depth and item budget as device frames (json-budget.ts), checked before JSON.parse. */
function parseBody(raw: Buffer | undefined): unknown {
  if (raw === undefined || raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const budget = checkJsonBudget(text);
  if (!budget.ok) throw new ApiError(400, 'too_complex', `body refused: ${budget.message}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`body is not valid JSON: ${(e as Error).message}`);
  }
}
