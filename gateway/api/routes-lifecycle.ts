/**
 * System controls to operating devices (addendum 0 §A0.3; docs/API.md
 * "System controls"): provision (new config; re-parenting), rotate-keys and
 * migrate, authorized like any control (an ancestor, or the admin), and the
 * gateway's own key rotation that rotate-keys announces to devices.
 *
 * Each sends one control through the hub's control path and waits for the
 * answer like POST /control (200 answered, 504 pending). What the device's
 * ack means here (a planned departure, not a crash) is device/system-actions.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { generateKeyPair } from '../crypto/ed25519.js';
import type { ControlOutcome } from '../device/controls.js';
import type { JsonValue, SecLevel } from '../../protocol/frames.js';
import type { AppRow, StoreWriter } from '../store/types.js';
import type { ApiContext, RouteDef } from './context.js';
import { caller, lower, originOf } from './context.js';
import { ApiError, badRequest, conflict } from './errors.js';
import { checkEndpoint, checkKey, futureInstant } from './lifecycle-checks.js';
import * as S from './schemas.js';
import * as L from './schemas-lifecycle.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const appIdOf = (req: FastifyRequest): string => lower((req.params as { appId: string }).appId);

interface ProvisionBody {
  parentId?: string;
  appName?: string;
  serverEp?: string;
  parentPubKey?: string;
  serverPubKey?: string;
  secLevel?: SecLevel;
  roleRefs?: string[];
  timeoutMs?: number;
}

/**
 * A new config for an operating device; with a new parentId it re-parents
 * the app. parent_id changes here when the provision is sent: the old
 * owner's authority ends at that moment, whatever the device does.
 */
async function provision(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const appId = appIdOf(req);
  const b = req.body as ProvisionBody;
  const row = await operating(ctx, req, appId, 'provision');
  const { timeoutMs, ...fields } = b;
  if (Object.keys(fields).length === 0) throw badRequest('body must change something: parentId, appName, serverEp, parentPubKey, serverPubKey, secLevel or roleRefs');
  if (b.serverEp !== undefined) checkEndpoint(b.serverEp, 'body/serverEp');
  if (b.serverEp !== undefined && b.serverPubKey === undefined) throw badRequest('body/serverPubKey is required with body/serverEp: the device must know the key of its new gateway');
  const parentId = b.parentId === undefined ? row.parent_id : lower(b.parentId);
  const parent = parentId ? ctx.store.getApp(parentId) : undefined;
  if (b.parentId !== undefined) {
    if (parentId === appId || (parentId && ctx.rules.isAncestor(appId, parentId))) throw badRequest('body/parentId may not be the app itself or one of its descendants');
    // A parent on another gateway (a move with serverEp) need not be known here.
    if (!parent && b.serverEp === undefined) throw new ApiError(404, 'not_found', `parent ${parentId} is not known to this gateway`);
    // Rights over the app are not rights over where it goes: the caller must be the new parent or one of its ancestors.
    if (parent && parentId !== row.parent_id && !ctx.rules.canRead(req.principal!, parent.app_id)) {
      await ctx.refuse(req, 'provision', appId, `body/parentId ${parent.app_id} is not in the subtree of the caller: an app may move apps only under itself or its descendants`);
    }
  }
  const payload = {
    appId, parentId, appName: b.appName ?? row.app_name,
    serverEp: b.serverEp ?? null,
    // null: keep the one you have (the new parent may have no key here).
    parentPubKey: b.parentPubKey !== undefined ? checkKey(b.parentPubKey, 'body/parentPubKey') : (b.parentId !== undefined ? parent?.pub_key ?? null : null),
    serverPubKey: b.serverPubKey !== undefined ? checkKey(b.serverPubKey, 'body/serverPubKey') : ctx.hub.deps.identity.publicKeyText,
    secLevel: b.secLevel ?? row.sec_level ?? 'signed', roleRefs: b.roleRefs ?? row.role_refs ?? [], childPubKey: row.pub_key,
  };
  const now = new Date(ctx.hub.now()).toISOString();
  const reparent = parentId !== row.parent_id;
  return sendSystem(ctx, req, reply, row, 'provision', payload, timeoutMs, {
    write: (w) => w.updateApp(appId, { parent_id: parentId, app_name: payload.appName, role_refs: payload.roleRefs, updated_at: now }),
    audit: { old_parent_id: row.parent_id, new_parent_id: parentId, reparent },
  });
}

async function rotateKeys(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const appId = appIdOf(req);
  const b = req.body as { newParentPubKey?: string; newServerPubKey?: string; newDeviceKey?: boolean; effectiveAfter: string; timeoutMs?: number };
  const at = futureInstant(b.effectiveAfter, ctx.hub.now(), 'body/effectiveAfter');
  if (b.newParentPubKey === undefined && b.newServerPubKey === undefined && b.newDeviceKey !== true) {
    throw badRequest('body must name newParentPubKey, newServerPubKey, newDeviceKey: true, or several');
  }
  if (b.newParentPubKey !== undefined) checkKey(b.newParentPubKey, 'body/newParentPubKey');
  if (b.newServerPubKey !== undefined) {
    checkKey(b.newServerPubKey, 'body/newServerPubKey');
    // Devices may only be told of a gateway key this gateway will really sign with, at the moment it will.
    const next = ctx.hub.deps.identity.nextKey;
    if (!next || next.publicKeyText !== b.newServerPubKey) throw badRequest('body/newServerPubKey is not the key this gateway has scheduled; schedule it first with POST /api/v1/server-key/rotate');
    if (next.effectiveAfter !== at) throw badRequest(`body/effectiveAfter must be ${new Date(next.effectiveAfter).toISOString()}, when this gateway switches to that key`);
  }
  const row = await operating(ctx, req, appId, 'rotate_keys');
  const payload: Record<string, JsonValue> = { effectiveAfter: new Date(at).toISOString() };
  if (b.newParentPubKey !== undefined) payload.newParentPubKey = b.newParentPubKey;
  if (b.newServerPubKey !== undefined) payload.newServerPubKey = b.newServerPubKey;
  // The device makes its new key itself and answers with it (system-actions.ts keyRotation).
  if (b.newDeviceKey === true) payload.newDeviceKey = true;
  return sendSystem(ctx, req, reply, row, 'rotate_keys', payload, b.timeoutMs, { audit: {} });
}

async function migrate(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const appId = appIdOf(req);
  const b = req.body as { newServerEp: string; newServerPubKey: string; timeoutMs?: number };
  checkEndpoint(b.newServerEp, 'body/newServerEp');
  checkKey(b.newServerPubKey, 'body/newServerPubKey');
  const row = await operating(ctx, req, appId, 'migrate');
  return sendSystem(ctx, req, reply, row, 'migrate', { newServerEp: b.newServerEp, newServerPubKey: b.newServerPubKey }, b.timeoutMs, { audit: {} });
}

function serverKey(ctx: ApiContext): object {
  const id = ctx.hub.deps.identity;
  const next = id.nextKey;
  return { server_pub_key: id.publicKeyText, next_pub_key: next?.publicKeyText ?? null, effective_after: next ? new Date(next.effectiveAfter).toISOString() : null };
}

/** Admin only: makes the gateway's next key (server.next.key, 0600) and when it takes over. */
async function rotateServerKey(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  if (req.principal!.kind !== 'admin') await ctx.refuse(req, 'rotate_server_key', null, 'only the admin key may rotate the gateway key');
  const at = futureInstant((req.body as { effectiveAfter: string }).effectiveAfter, ctx.hub.now(), 'body/effectiveAfter');
  const id = ctx.hub.deps.identity;
  if (id.nextKey) {
    await ctx.audit(caller(req), { action: 'rotate_server_key', target: null, outcome: 'conflict' });
    throw conflict(`a rotation to ${id.nextKey.publicKeyText} is already scheduled for ${new Date(id.nextKey.effectiveAfter).toISOString()}`);
  }
  id.scheduleNext(generateKeyPair(), at);
  const out = serverKey(ctx);
  await ctx.audit(caller(req), { action: 'rotate_server_key', target: null, outcome: 'scheduled', payload: out as Record<string, JsonValue> });
  reply.code(201);
  return out;
}

// ── shared ──────────────────────────────────────────────────────────

/** The app, if the caller may control it and it can still take controls; it must have a device key. */
async function operating(ctx: ApiContext, req: FastifyRequest, appId: string, action: string): Promise<AppRow> {
  const row = await ctx.controllable(req, appId, action);
  if (ctx.isFinal(appId)) {
    await ctx.audit(caller(req), { action, target: appId, outcome: 'conflict' });
    throw conflict(`app ${appId} is ${ctx.statusOf(appId)}; it takes no more controls`);
  }
  if (!row.pub_key) throw conflict(`app ${appId} has never registered a key; system controls are bound to the device key`);
  return row;
}

async function sendSystem(
  ctx: ApiContext, req: FastifyRequest, reply: FastifyReply, row: AppRow, action: string, payload: Record<string, JsonValue>,
  timeoutMs: number | undefined, extra: { write?: (w: StoreWriter) => void; audit: Record<string, JsonValue> },
): Promise<object> {
  const { correlationId, done } = ctx.hub.controls.send({ appId: row.app_id, action, payload, origin: originOf(req.principal!) });
  // Enqueued in the same turn as the control row: both are durable in one commit, before the frame leaves.
  if (extra.write) {
    const err = await new Promise<Error | undefined>((resolve) => ctx.hub.deps.committer.enqueue(extra.write!, resolve));
    if (err) throw err;
  }
  await ctx.audit(caller(req), { action, target: row.app_id, outcome: 'sent', payload: { correlation_id: correlationId, payload, ...extra.audit } });
  const outcome = await within(ctx, done, timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (outcome?.status === 'answered') return { status: 'answered', correlation_id: correlationId, response: outcome.response };
  reply.code(504);
  const status = outcome?.status ?? 'timeout';
  return { status, correlation_id: correlationId, message: status === 'timeout' ? 'no answer yet; the control stays queued for the device until it expires' : `the control ended ${status}` };
}

function within(ctx: ApiContext, done: Promise<ControlOutcome>, ms: number): Promise<ControlOutcome | undefined> {
  return new Promise((resolve) => {
    const t = ctx.hub.after(ms, () => resolve(undefined));
    void done.then((o) => (t.cancel(), resolve(o)));
  });
}

export const lifecycleRoutes: RouteDef[] = [
  {
    method: 'POST', url: '/apps/:appId/provision', action: 'provision', summary: 'Send a device a new config; a new parentId re-parents it now',
    schema: { params: S.appIdParams, body: L.provisionBody, response: L.systemControlResponses },
    handler: provision,
  },
  {
    method: 'POST', url: '/apps/:appId/rotate-keys', action: 'rotate_keys', summary: 'Tell a device its new parent and/or gateway key and when they take over',
    schema: { params: S.appIdParams, body: L.rotateKeysBody, response: L.systemControlResponses },
    handler: rotateKeys,
  },
  {
    method: 'POST', url: '/apps/:appId/migrate', action: 'migrate', summary: 'Move a device to another gateway (it comes back if it cannot register there)',
    schema: { params: S.appIdParams, body: L.migrateBody, response: L.systemControlResponses },
    handler: migrate,
  },
  {
    method: 'GET', url: '/server-key', action: 'get_server_key', summary: "The gateway's key, and the next one while a rotation is scheduled",
    schema: { response: { 200: L.serverKeyResponse, ...S.errorResponses } },
    handler: async (ctx) => serverKey(ctx),
  },
  {
    method: 'POST', url: '/server-key/rotate', action: 'rotate_server_key', summary: "Admin: schedule the gateway's next key (announce it to devices with rotate-keys)",
    schema: { body: L.serverKeyRotateBody, response: { 201: L.serverKeyResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: rotateServerKey,
  },
];
