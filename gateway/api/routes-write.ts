/**
 * The endpoints that change something: declare and withdraw a child (spec
 * §7), send a control (§10) and cancel, alone or cascading (§12). Each writes
 * an audit row with its outcome; refusals write theirs before the 403.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ControlOutcome } from '../device/controls.js';
import type { JsonValue, SecLevel } from '../../protocol/frames.js';
import type { AppRow, NewApp } from '../store/types.js';
import { CascadeCanceller } from './cascade.js';
import type { ApiContext, RouteDef } from './context.js';
import { caller, lower, originOf } from './context.js';
import { ApiError, badRequest, conflict } from './errors.js';
import * as S from './schemas.js';
import { declaredChildResponse, declaredGrant } from './routes-join.js';
import { SYSTEM_ACTIONS } from '../../protocol/bootstrap-frames.js';

interface DeclareBody {
  parentId: string;
  appId: string;
  appName: string;
  startDeadline: number;
  secLevel?: SecLevel;
  roleRefs?: string[];
  tags?: Record<string, JsonValue>;
}

const appIdOf = (req: FastifyRequest): string => lower((req.params as { appId: string }).appId);
const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;
const DEFAULT_GRACE_S = 30;
const MAX_GRACE_S = 3600;

async function declareChild(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<AppRow & { join_token: string | null; server_ep: string | null }> {
  const b = req.body as DeclareBody;
  const appId = lower(b.appId);
  const parentId = lower(b.parentId);
  const audit = (outcome: string) => ctx.audit(caller(req), { action: 'declare_child', target: appId, outcome, payload: { parent_id: parentId, app_name: b.appName } });
  const parent = ctx.store.getApp(parentId);
  if (!parent) {
    await audit('not_found');
    throw new ApiError(404, 'not_found', `parent ${parentId} is not known to this gateway`);
  }
  if (!ctx.rules.canRead(req.principal!, parentId)) {
    await ctx.refuse(req, 'declare_child', appId, `an app may declare children only under itself or its descendants, not under ${parentId}`);
  }
  if (ctx.store.getApp(appId)) {
    await audit('conflict');
    throw conflict(`app ${appId} already exists`);
  }
  const now = new Date(ctx.hub.now()).toISOString();
  const row: NewApp = {
    app_id: appId, parent_id: parentId, app_name: b.appName, status: 'scheduled', start_deadline: b.startDeadline,
    // The child inherits the parent's namespace until its own process_info says otherwise.
    namespace: parent.namespace, sec_level: b.secLevel ?? null, role_refs: b.roleRefs ?? null,
    metadata_json: b.tags ? { tags: b.tags } : null, created_at: now, updated_at: now,
  };
  const err = await commit(ctx, (w) => w.insertApp(row));
  if (err) {
    await audit('conflict');
    throw conflict(`app ${appId} already exists`);
  }
  ctx.hub.deps.events.emit({ type: 'app_status', app_id: appId, parent_id: parentId, namespace: parent.namespace, at: now, status: 'scheduled' });
  await audit('declared');
  reply.code(201);
  // The child's join grant: declared, it registers without one, but an open-tier child needs it to resume.
  return { ...ctx.store.getApp(appId)!, ...declaredGrant(ctx, req, appId, parentId) };
}

/** Withdraws a declared child: it becomes cancelled with metadata_json.withdrawn, so a late start is refused. */
async function withdrawChild(ctx: ApiContext, req: FastifyRequest): Promise<AppRow> {
  const appId = appIdOf(req);
  const row = await ctx.controllable(req, appId, 'withdraw_child');
  const audit = (outcome: string) => ctx.audit(caller(req), { action: 'withdraw_child', target: appId, outcome });
  let late = false;
  const now = new Date(ctx.hub.now()).toISOString();
  const err = await commit(ctx, (w) => {
    // Checked inside the write: the child may have registered since the request arrived.
    late = ctx.store.getApp(appId)?.status !== 'scheduled' || ctx.hub.liveApp(appId) !== undefined;
    if (!late) w.updateApp(appId, { status: 'cancelled', metadata_json: { ...asObject(row.metadata_json), withdrawn: true }, updated_at: now });
  });
  if (err) throw err;
  if (late) {
    await audit('conflict');
    throw conflict(`app ${appId} is ${ctx.statusOf(appId)}; only a scheduled child can be withdrawn`);
  }
  ctx.hub.deps.events.emit({ type: 'app_status', app_id: appId, parent_id: row.parent_id, namespace: row.namespace, at: now, status: 'cancelled' });
  await audit('withdrawn');
  return ctx.store.getApp(appId)!;
}

async function control(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const appId = appIdOf(req);
  const b = req.body as { action: string; payload?: JsonValue; timeoutMs?: number };
  // System actions have their own endpoints, which check them and do their part here (re-parenting, key ring).
  if ((SYSTEM_ACTIONS as readonly string[]).includes(b.action)) throw badRequest(`"${b.action}" is a system action: use POST /api/v1/apps/{appId}/${b.action.replace('_', '-')}`);
  await ctx.controllable(req, appId, 'control');
  const audit = (outcome: string, extra: object = {}) =>
    ctx.audit(caller(req), { action: 'control', target: appId, outcome, payload: { action: b.action, payload: b.payload ?? null, ...extra } });
  if (ctx.isFinal(appId)) {
    await audit('conflict');
    throw conflict(`app ${appId} is ${ctx.statusOf(appId)}; it takes no more controls`);
  }
  const { correlationId, done } = ctx.hub.controls.send({ appId, action: b.action, payload: b.payload ?? null, origin: originOf(req.principal!) });
  await audit('sent', { correlation_id: correlationId });
  const outcome = await within(ctx, done, b.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS);
  if (outcome?.status === 'answered') return { status: 'answered', correlation_id: correlationId, response: outcome.response };
  reply.code(504);
  const status = outcome?.status ?? 'timeout';
  const message = status === 'timeout' ? 'no answer yet; the control stays queued for the device until it expires' : `the control ended ${status}`;
  return { status, correlation_id: correlationId, message };
}

async function cancel(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const appId = appIdOf(req);
  const query = req.query as { cascade?: string; grace?: string };
  const grace = query.grace === undefined ? DEFAULT_GRACE_S : Number(query.grace);
  if (grace > MAX_GRACE_S) throw badRequest(`querystring/grace must be at most ${MAX_GRACE_S} seconds`);
  const cascade = query.cascade === 'true';
  await ctx.controllable(req, appId, 'cancel');
  if (ctx.isFinal(appId)) {
    await ctx.audit(caller(req), { action: 'cancel', target: appId, cascade, outcome: 'conflict' });
    throw conflict(`app ${appId} is already ${ctx.statusOf(appId)}`);
  }
  const reason = (req.body as { reason?: string } | undefined)?.reason ?? 'cancel requested';
  const initiatedBy = originOf(req.principal!);
  const report = await new CascadeCanceller(ctx.hub).run({ rootId: appId, cascade, graceMs: grace * 1000, reason, initiatedBy });
  // One row per node: the outcome column is where force_killed is recorded.
  await Promise.all(
    report.nodes.map((n) =>
      ctx.audit(caller(req), {
        action: 'cancel', target: n.app_id, cascade, outcome: n.outcome,
        payload: { root_app_id: appId, depth: n.depth, ms: n.ms, correlation_id: n.correlation_id ?? null, reason },
      }),
    ),
  );
  return report;
}

function within(ctx: ApiContext, done: Promise<ControlOutcome>, ms: number): Promise<ControlOutcome | undefined> {
  return new Promise((resolve) => {
    const t = ctx.hub.after(ms, () => resolve(undefined));
    void done.then((o) => (t.cancel(), resolve(o)));
  });
}

function commit(ctx: ApiContext, op: Parameters<ApiContext['hub']['deps']['committer']['enqueue']>[0]): Promise<Error | undefined> {
  return new Promise((resolve) => ctx.hub.deps.committer.enqueue(op, resolve));
}

function asObject(v: JsonValue | null): Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

export const writeRoutes: RouteDef[] = [
  {
    method: 'POST', url: '/children', action: 'declare_child', summary: 'Declare a child before starting it (scheduled; start_failed after startDeadline)',
    schema: { body: S.declareChildBody, response: { 201: declaredChildResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: declareChild,
  },
  {
    method: 'DELETE', url: '/children/:appId', action: 'withdraw_child', summary: 'Withdraw a declared child that has not started (409 otherwise)',
    schema: { params: S.appIdParams, response: { 200: S.appSchema, 409: S.errorSchema, ...S.errorResponses } },
    handler: withdrawChild,
  },
  {
    method: 'POST', url: '/apps/:appId/control', action: 'control', summary: "Send a control and wait up to timeoutMs for the device's answer",
    schema: { params: S.appIdParams, body: S.controlBody, response: { 200: S.controlAnswered, 504: S.controlPending, 409: S.errorSchema, ...S.errorResponses } },
    handler: control,
  },
  {
    method: 'POST', url: '/apps/:appId/cancel', action: 'cancel', summary: 'Cancel an app, or its whole subtree bottom-up with ?cascade=true',
    schema: { params: S.appIdParams, querystring: S.cancelQuery, body: S.cancelBody, response: { 200: S.cancelResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: cancel,
  },
];
