/**
 * Who a verified request speaks for, and what it may touch (spec §16, phase 1):
 * the local admin key may do anything; an app may read itself and its
 * descendants and control its descendants, following the parent_id chain.
 */
import { isFinal } from '../core/lifecycle.js';
import type { AppRow, AppStatus, StoreReader } from '../store/types.js';
import type { SignedRequestFacts } from './request-signing.js';
import type { AuthFailure } from './verify-request.js';

export type Principal = { kind: 'admin'; key: string } | { kind: 'app'; appId: string; key: string };

/** How deep a parent chain is followed before it is taken for a cycle. */
const MAX_DEPTH = 10_000;

export interface PrincipalDeps {
  store: Pick<StoreReader, 'getApp' | 'children'>;
  adminKey: string;
  /** The live status where the hub knows it, otherwise the stored one. */
  statusOf(appId: string): AppStatus | undefined;
}

export function resolvePrincipal(facts: SignedRequestFacts, deps: PrincipalDeps): Principal | AuthFailure {
  if (facts.app_id === null) {
    if (facts.key === deps.adminKey) return { kind: 'admin', key: facts.key };
    return { status: 401, code: 'unknown_key', message: 'this key is not the admin key of this gateway; an app names itself in X-Trails-App' };
  }
  const row = deps.store.getApp(facts.app_id);
  if (!row || row.pub_key === null) {
    return { status: 401, code: 'unknown_app', message: `X-Trails-App ${facts.app_id} is not a registered app` };
  }
  if (row.pub_key !== facts.key) {
    return { status: 401, code: 'key_mismatch', message: `X-Trails-Key is not the key app ${facts.app_id} registered with` };
  }
  const status = deps.statusOf(facts.app_id) ?? row.status;
  if (isFinal(status)) {
    return { status: 403, code: 'app_terminal', message: `app ${facts.app_id} is ${status}; a finished app can no longer act` };
  }
  return { kind: 'app', appId: facts.app_id, key: facts.key };
}

export function isFailure(p: Principal | AuthFailure): p is AuthFailure {
  return 'status' in p;
}

/** The parent_id chain rules, read from the store at the time of the request. */
export class TreeRules {
  constructor(private readonly store: Pick<StoreReader, 'getApp' | 'children'>) {}

  /** True when `ancestor` is on the parent chain of `target` (never for the app itself). */
  isAncestor(ancestor: string, target: string): boolean {
    const seen = new Set<string>([target]);
    let row: AppRow | undefined = this.store.getApp(target);
    for (let i = 0; row?.parent_id && i < MAX_DEPTH; i++) {
      if (row.parent_id === ancestor) return true;
      if (seen.has(row.parent_id)) return false;
      seen.add(row.parent_id);
      row = this.store.getApp(row.parent_id);
    }
    return false;
  }

  canRead(p: Principal, target: string): boolean {
    return p.kind === 'admin' || p.appId === target || this.isAncestor(p.appId, target);
  }

  canControl(p: Principal, target: string): boolean {
    return p.kind === 'admin' || (p.appId !== target && this.isAncestor(p.appId, target));
  }

  /** The app and every descendant: what an app principal may see. */
  visible(p: Extract<Principal, { kind: 'app' }>): AppRow[] {
    const self = this.store.getApp(p.appId);
    return self ? [self, ...this.store.children(p.appId, true)] : [];
  }
}
