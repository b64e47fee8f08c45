/**
 * What every route handler reaches: the store for reads, the hub for
 * controls, the tree rules for authorization, and the auditor. Built once
 * by registerApi; handlers take it as their first argument.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { TreeRules } from '../auth/principal.js';
import type { DeviceHub } from '../device/hub.js';
import type { AppRow, AppStatus, GatewayStore, NewAudit } from '../store/types.js';
import type { JsonValue } from '../../protocol/frames.js';
import { isFinal } from '../core/lifecycle.js';
import { iso } from '../ports/clock.js';
import { RefusalTally } from '../audit/refusal-tally.js';
import { forbidden, notFound } from './errors.js';

export interface Caller {
  principal?: Principal;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  action: string;
  target: string | null;
  outcome: string;
  cascade?: boolean;
  payload?: NewAudit['payload_json'];
}

export class ApiContext {
  readonly rules: TreeRules;
  /** Counts the refusals of unauthenticated requests (audit/refusal-tally.ts). */
  readonly refusals: RefusalTally;

  constructor(
    readonly hub: DeviceHub,
    readonly store: GatewayStore,
    refusals?: RefusalTally,
    /** What /healthz says (connections, disk space): the composition root knows it; GET /health answers it to a signed caller. */
    readonly health: () => object = () => ({}),
  ) {
    this.rules = new TreeRules(store);
    this.refusals = refusals ?? new RefusalTally(hub.deps.clock, (rows) => hub.deps.committer.enqueue((w) => rows.forEach((r) => w.insertAudit(r))));
  }

  statusOf(appId: string): AppStatus | undefined {
    return this.hub.liveApp(appId)?.status ?? this.store.getApp(appId)?.status;
  }

  /** Over for good (done, error, cancelled, start_failed): a crashed app may still return, and takes controls. */
  isFinal(appId: string): boolean {
    const s = this.statusOf(appId);
    return s !== undefined && isFinal(s);
  }

  /** The app, or 404; then 403 (with an audit row) when the caller may not read it. */
  async readable(req: FastifyRequest, appId: string, action: string): Promise<AppRow> {
    const row = this.store.getApp(appId);
    if (!row) throw notFound(appId);
    if (!this.rules.canRead(req.principal!, appId)) await this.refuse(req, action, appId, `app ${appId} is not in the subtree of ${who(req.principal!)}`);
    return row;
  }

  /** As readable, for controls: the target must be a strict descendant. */
  async controllable(req: FastifyRequest, appId: string, action: string): Promise<AppRow> {
    const row = this.store.getApp(appId);
    if (!row) {
      await this.audit(caller(req), { action, target: appId, outcome: 'not_found' });
      throw notFound(appId);
    }
    if (!this.rules.canControl(req.principal!, appId)) {
      const why = req.principal?.kind === 'app' && req.principal.appId === appId ? 'an app may not control itself' : `app ${appId} is not a descendant of ${who(req.principal!)}`;
      await this.refuse(req, action, appId, why);
    }
    return row;
  }

  /** Writes the refusal's audit row, then throws the 403. */
  async refuse(req: FastifyRequest, action: string, target: string | null, message: string): Promise<never> {
    await this.audit(caller(req), { action, target, outcome: 'refused:403', payload: { method: req.method, path: req.url, message } });
    throw forbidden(message);
  }

  /**
   * Appends an audit row through the group commit; resolves once it is
   * durable. A 401 (the caller proved no key) is counted instead, per source
   * and reason, and written with its count when the interval ends: nothing
   * a stranger sends may cost a row each.
   */
  audit(c: Caller, e: AuditEntry): Promise<void> {
    if (c.principal === undefined && e.outcome.startsWith('refused:401:')) {
      this.refusals.record({ source: c.ip, action: e.action, outcome: e.outcome, method: textOf(e.payload, 'method') ?? 'GET', url: textOf(e.payload, 'path') ?? '', userAgent: c.userAgent });
      return Promise.resolve();
    }
    const p = c.principal;
    const row: NewAudit = {
      timestamp: iso(this.hub.now()),
      action: e.action,
      target_app_id: e.target,
      cascade: e.cascade ?? false,
      payload_json: boundedPayload(e.payload),
      auth_domain: p === undefined ? 'none' : p.kind === 'app' ? 'tree' : 'local',
      source_app_id: p?.kind === 'app' ? p.appId : null,
      oauth_subject: null,
      source_ip: c.ip,
      user_agent: c.userAgent,
      outcome: e.outcome,
    };
    return new Promise((resolve) => this.hub.deps.committer.enqueue((w) => w.insertAudit(row), () => resolve()));
  }
}

/** Rows of identified callers keep the request target, but never more than URL_EXCERPT characters of it. */
const URL_EXCERPT = 512;

function boundedPayload(payload: AuditEntry['payload']): NewAudit['payload_json'] {
  const path = textOf(payload, 'path');
  if (path === undefined || path.length <= URL_EXCERPT) return payload ?? null;
  return { ...(payload as Record<string, JsonValue>), path: path.slice(0, URL_EXCERPT) };
}

function textOf(payload: AuditEntry['payload'], field: string): string | undefined {
  const v = payload && typeof payload === 'object' && !Array.isArray(payload) ? payload[field] : undefined;
  return typeof v === 'string' ? v : undefined;
}

export function caller(req: FastifyRequest): Caller {
  const ua = req.headers['user-agent'];
  return { ...(req.principal ? { principal: req.principal } : {}), ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}

export function who(p: Principal): string {
  return p.kind === 'admin' ? 'the admin key' : `app ${p.appId}`;
}

/** "admin" or "app:<uuid>": the control_queue origin and the cancel's initiated_by. */
export function originOf(p: Principal): string {
  return p.kind === 'admin' ? 'admin' : `app:${p.appId}`;
}

export type Handler = (ctx: ApiContext, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface RouteDef {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify form, relative to /api/v1: /apps/:appId */
  url: string;
  /** The audit action name and OpenAPI operationId. */
  action: string;
  summary: string;
  schema: {
    params?: object;
    querystring?: object;
    body?: object;
    response: Record<number, object>;
  };
  /** Routes without authentication (the OpenAPI document). */
  open?: boolean;
  handler: Handler;
}

export function lower(id: string): string {
  return id.toLowerCase();
}

