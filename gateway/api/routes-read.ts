/**
 * The query endpoints of spec §23. The admin sees every app; an app sees
 * itself and its descendants, and a list it asks for is cut to that subtree.
 */
import type { FastifyRequest } from 'fastify';
import type { AppRow, AppStatus, CrashRow, MessageRow } from '../store/types.js';
import type { ApiContext, RouteDef } from './context.js';
import { lower } from './context.js';
import { ApiError } from './errors.js';
import * as S from './schemas.js';

interface Q {
  status?: AppStatus;
  namespace?: string;
  parent_id?: string;
  limit?: string;
  recursive?: string;
  type?: MessageRow['msg_type'];
  since?: string;
  app_id?: string;
}

const q = (req: FastifyRequest): Q => req.query as Q;
const appIdOf = (req: FastifyRequest): string => lower((req.params as { appId: string }).appId);
const limitOf = (text: string | undefined, dflt: number): number => (text === undefined ? dflt : Number(text));

/**
 * apps.last_seq is written off the per-frame path (at most 5 s behind while an
 * app runs); for a connected app the hub knows the exact committed seq.
 */
function withLiveSeq(ctx: ApiContext, row: AppRow): AppRow {
  const live = ctx.hub.liveApp(row.app_id);
  return live && live.committedSeq > row.last_seq ? { ...row, last_seq: live.committedSeq } : row;
}

function listApps(ctx: ApiContext, req: FastifyRequest): { apps: AppRow[] } {
  const { status, namespace, limit } = q(req);
  const parent_id = q(req).parent_id && lower(q(req).parent_id!);
  const p = req.principal!;
  const max = limitOf(limit, 1000);
  if (p.kind === 'admin') return { apps: ctx.store.listApps({ status, namespace, parent_id, limit: max }) };
  const mine = ctx.rules.visible(p).filter(
    (a) => (!status || a.status === status) && (!namespace || a.namespace === namespace) && (!parent_id || a.parent_id === parent_id),
  );
  return { apps: mine.slice(0, max) };
}

async function children(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const appId = appIdOf(req);
  await ctx.readable(req, appId, 'list_children');
  const recursive = q(req).recursive === 'true';
  const status = q(req).status;
  const rows = ctx.store.children(appId, recursive).filter((a) => !status || a.status === status);
  return { app_id: appId, recursive, children: rows };
}

async function messages(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const appId = appIdOf(req);
  await ctx.readable(req, appId, 'list_messages');
  const { type, limit } = q(req);
  return { app_id: appId, messages: ctx.store.messages(appId, { msg_type: type, limit: limitOf(limit, 1000) }) };
}

async function snapshots(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const appId = appIdOf(req);
  await ctx.readable(req, appId, 'list_snapshots');
  return { app_id: appId, snapshots: ctx.store.snapshots(appId, limitOf(q(req).limit, 100)) };
}

async function latestSnapshot(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const appId = appIdOf(req);
  await ctx.readable(req, appId, 'latest_snapshot');
  const snap = ctx.store.latestSnapshot(appId);
  if (!snap) throw new ApiError(404, 'not_found', `app ${appId} has reported no snapshot yet`);
  return snap;
}

/** ?since is any RFC 3339 time; stored times are UTC with ms, so it is normalised before comparing text. */
async function crashes(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const { since, limit } = q(req);
  const appId = q(req).app_id && lower(q(req).app_id!);
  const sinceIso = since === undefined ? undefined : new Date(since).toISOString();
  const max = limitOf(limit, 100);
  const p = req.principal!;
  if (appId) {
    await ctx.readable(req, appId, 'list_crashes');
    return { crashes: ctx.store.crashes({ app_id: appId, since: sinceIso, limit: max }) };
  }
  if (p.kind === 'admin') return { crashes: ctx.store.crashes({ since: sinceIso, limit: max }) };
  const rows: CrashRow[] = ctx.rules.visible(p).flatMap((a) => ctx.store.crashes({ app_id: a.app_id, since: sinceIso, limit: max }));
  rows.sort((a, b) => (a.detected_at < b.detected_at ? 1 : a.detected_at > b.detected_at ? -1 : b.id - a.id));
  return { crashes: rows.slice(0, max) };
}

const withErrors = (ok: object) => ({ 200: ok, ...S.errorResponses });

export const readRoutes: RouteDef[] = [
  {
    method: 'GET', url: '/apps', action: 'list_apps', summary: 'List apps (the admin sees all; an app sees its subtree)',
    schema: { querystring: S.listAppsQuery, response: withErrors(S.appsResponse) },
    handler: async (ctx, req) => listApps(ctx, req),
  },
  {
    method: 'GET', url: '/apps/:appId', action: 'get_app', summary: 'One app',
    schema: { params: S.appIdParams, response: withErrors(S.appSchema) },
    handler: async (ctx, req) => withLiveSeq(ctx, await ctx.readable(req, appIdOf(req), 'get_app')),
  },
  {
    method: 'GET', url: '/apps/:appId/children', action: 'list_children', summary: 'Direct children, or the whole subtree with ?recursive=true (breadth-first)',
    schema: { params: S.appIdParams, querystring: S.childrenQuery, response: withErrors(S.childrenResponse) },
    handler: children,
  },
  {
    method: 'GET', url: '/apps/:appId/messages', action: 'list_messages', summary: 'Messages of an app, oldest first',
    schema: { params: S.appIdParams, querystring: S.messagesQuery, response: withErrors(S.messagesResponse) },
    handler: messages,
  },
  {
    method: 'GET', url: '/apps/:appId/snapshots', action: 'list_snapshots', summary: 'Snapshot history, newest first',
    schema: { params: S.appIdParams, querystring: S.limitQuery, response: withErrors(S.snapshotsResponse) },
    handler: snapshots,
  },
  {
    method: 'GET', url: '/apps/:appId/snapshots/latest', action: 'latest_snapshot', summary: 'The latest snapshot (404 if none yet)',
    schema: { params: S.appIdParams, response: withErrors(S.snapshotSchema) },
    handler: latestSnapshot,
  },
  {
    method: 'GET', url: '/crashes', action: 'list_crashes', summary: 'Crashes, newest first',
    schema: { querystring: S.crashesQuery, response: withErrors(S.crashesResponse) },
    handler: crashes,
  },
  {
    method: 'GET', url: '/health', action: 'health', summary: 'What /healthz says, for any signed caller: connections, live apps, the data disk\'s free space and low_space state',
    schema: { response: withErrors(S.healthResponse) },
    handler: async (ctx) => ctx.health(),
  },
];
