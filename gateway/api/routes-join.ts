/**
 * Join tokens (docs/API.md "Join tokens"; docs/PROTOCOL.md "Registration
 * gate"): the household credential a new app needs to register when no
 * parent declared it and no claim made it. Stateless: the token is derived
 * from the household secret, so issuing one stores nothing but its audit row.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { joinToken } from '../device/join-gate.js';
import type { ApiContext, RouteDef } from './context.js';
import { caller, lower } from './context.js';
import { ApiError, conflict } from './errors.js';
import * as S from './schemas.js';

/** The token, and the device endpoint that carries it: ws(s)://<the host the caller used>/ws?join=TOKEN. */
export function joinGrant(ctx: ApiContext, req: FastifyRequest, appId: string, parentId: string | null): { join_token: string; server_ep: string } {
  const secret = ctx.hub.options.householdKey;
  if (!secret) throw new ApiError(503, 'unavailable', 'this gateway has no household key, so it hands out no join tokens');
  const token = joinToken(secret, appId, parentId);
  const scheme = req.protocol === 'https' ? 'wss' : 'ws';
  return { join_token: token, server_ep: `${scheme}://${req.host}/ws?join=${token}` };
}

/** The join grant of a freshly declared child, or nulls on a gateway without a household key. */
export function declaredGrant(ctx: ApiContext, req: FastifyRequest, appId: string, parentId: string): { join_token: string | null; server_ep: string | null } {
  return ctx.hub.options.householdKey ? joinGrant(ctx, req, appId, parentId) : { join_token: null, server_ep: null };
}

async function issue(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const b = req.body as { appId?: string; parentId?: string | null };
  const p = req.principal!;
  const appId = b.appId !== undefined ? lower(b.appId) : randomUUID();
  const existing = ctx.store.getApp(appId);
  const parentId = existing ? existing.parent_id : b.parentId ? lower(b.parentId) : null;
  const audit = (outcome: string) => ctx.audit(caller(req), { action: 'join_token', target: appId, outcome, payload: { parent_id: parentId } });
  if (existing && b.parentId !== undefined && (b.parentId === null ? null : lower(b.parentId)) !== existing.parent_id) {
    await audit('conflict');
    throw conflict(`app ${appId} already exists under ${existing.parent_id ?? 'no parent'}`);
  }
  // Where the app will hang decides who may invite it: the admin anywhere, an app under itself and its descendants.
  if (existing ? !ctx.rules.canRead(p, appId) : parentId === null ? p.kind !== 'admin' : !ctx.rules.canRead(p, parentId)) {
    await ctx.refuse(req, 'join_token', appId, parentId === null ? 'only the admin key invites a new root app' : `an app may invite apps only under itself or its descendants, not under ${parentId}`);
  }
  if (!existing && parentId !== null && !ctx.store.getApp(parentId)) {
    await audit('not_found');
    throw new ApiError(404, 'not_found', `parent ${parentId} is not known to this gateway`);
  }
  const grant = joinGrant(ctx, req, appId, parentId);
  await audit('issued');
  reply.code(existing ? 200 : 201);
  return { app_id: appId, parent_id: parentId, ...grant };
}

const joinBody = {
  type: 'object',
  properties: { appId: S.uuid, parentId: { anyOf: [S.uuid, { type: 'null' }] } },
  additionalProperties: false,
} as const;

const joinResponse = {
  type: 'object',
  properties: { app_id: S.uuid, parent_id: { type: ['string', 'null'] }, join_token: { type: 'string' }, server_ep: { type: 'string' } },
  required: ['app_id', 'parent_id', 'join_token', 'server_ep'],
  additionalProperties: false,
} as const;

/** POST /children answers the declared row and its join grant (the child's serverEp for its TRAILS_INFO). */
export const declaredChildResponse = {
  ...S.appSchema,
  properties: { ...S.appSchema.properties, join_token: { type: ['string', 'null'] }, server_ep: { type: ['string', 'null'] } },
} as const;

export const joinRoutes: RouteDef[] = [
  {
    method: 'POST', url: '/join-tokens', action: 'join_token', summary: 'The join token (and serverEp carrying it) an undeclared app needs to register; a new app id when appId is absent',
    schema: { body: joinBody, response: { 200: joinResponse, 201: joinResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: issue,
  },
];
