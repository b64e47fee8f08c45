/**
 * The OpenAPI 3.1 document, built by hand from the route table and the very
 * schema objects fastify validates and serialises with (no @fastify/swagger:
 * one less dependency, and nothing can differ between document and server).
 * OpenAPI 3.1 takes JSON Schema as it is, type arrays for null included.
 */
import type { RouteDef } from './context.js';
import { AUTH_HEADERS } from '../auth/request-signing.js';

interface ObjectSchema {
  properties?: Record<string, object>;
  required?: string[];
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 400: 'Bad request', 401: 'Not authenticated', 403: 'Forbidden', 404: 'Unknown app',
  409: 'Conflict', 500: 'Internal error', 503: 'Unavailable', 504: 'No answer in time',
};

export function buildOpenApi(routes: readonly RouteDef[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = `/api/v1${r.url.replace(/:(\w+)/g, '{$1}')}`;
    (paths[path] ??= {})[r.method.toLowerCase()] = operation(r);
  }
  paths['/api/v1/watch'] = { get: watchOperation() };
  return {
    openapi: '3.1.0',
    info: {
      title: 'TRAILS gateway API',
      version,
      description: 'Spec §23 on the edge gateway. Every request except this document and /healthz is signed: see docs/API.md.',
    },
    components: {
      securitySchemes: {
        trailsSignature: {
          type: 'apiKey', in: 'header', name: 'X-Trails-Signature',
          description: `Ed25519 over "TRAILS-REQ-V1\\n" + JCS({method, path, timestamp, nonce, body_sha256, key, app_id}); also send ${Object.values(AUTH_HEADERS).join(', ')}.`,
        },
      },
    },
    security: [{ trailsSignature: [] }],
    paths,
  };
}

function operation(r: RouteDef): object {
  const parameters = [...params('path', r.schema.params), ...params('query', r.schema.querystring)];
  const responses: Record<string, object> = {};
  for (const [code, schema] of Object.entries(r.schema.response)) {
    responses[code] = { description: STATUS_TEXT[Number(code)] ?? 'Response', content: { 'application/json': { schema } } };
  }
  return {
    operationId: r.action,
    summary: r.summary,
    ...(r.open ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(r.schema.body ? { requestBody: { required: !isOptionalBody(r), content: { 'application/json': { schema: r.schema.body } } } } : {}),
    responses,
  };
}

function params(where: 'path' | 'query', schema: object | undefined): object[] {
  const s = (schema ?? {}) as ObjectSchema;
  return Object.entries(s.properties ?? {}).map(([name, sub]) => ({
    name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: sub,
  }));
}

/** A body whose schema requires nothing (cancel's optional reason) may be left out. */
function isOptionalBody(r: RouteDef): boolean {
  return ((r.schema.body as ObjectSchema).required ?? []).length === 0;
}

function watchOperation(): object {
  const q = (name: string, description: string) => ({ name, in: 'query', required: false, schema: { type: 'string' }, description });
  return {
    operationId: 'watch',
    summary: 'WebSocket upgrade: catch-up from the store, then live events (docs/API.md "Watch")',
    parameters: [
      q('app_id', 'one app; a terminal message follows as soon as it is terminal'),
      q('parent_id', 'every descendant of this app'),
      q('namespace', 'apps of this namespace'),
    ],
    responses: {
      101: { description: 'Switching protocols' },
      400: { description: 'Bad filter' },
      401: { description: 'Not authenticated' },
      403: { description: 'Forbidden' },
      404: { description: 'Unknown app' },
    },
  };
}
