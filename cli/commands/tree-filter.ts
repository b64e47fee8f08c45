/**
 * What `trails tree --active --depth N --since WHEN` keeps. Pure: apps in,
 * apps out. A filter keeps an app when it matches or when an app below it
 * does (its ancestors stay, so a tree never loses the context of where a
 * kept app is); --depth then cuts every tree N levels below its root.
 */
import type { App } from '../api/types.js';
import { TERMINAL_STATUSES } from '../../protocol/api/resources.js';
import { usageError } from '../errors.js';

export interface TreeFilter {
  active: boolean;
  depth?: number;
  /** ms since the epoch. */
  sinceMs?: number;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "2h", "7d", "1w", or an ISO date/time; a usage error otherwise. */
export function parseSince(text: string, now: number, usage: string): number {
  const d = /^(\d{1,9})([smhdw])$/.exec(text);
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]!]!;
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw usageError(`--since must be a duration (90s, 15m, 2h, 7d, 1w) or an ISO date such as 2026-01-31T08:00Z, not "${text.slice(0, 60)}"`, usage);
  return ms;
}

export function parseDepth(text: string, usage: string): number {
  if (!/^\d{1,4}$/.test(text)) throw usageError(`--depth must be a whole number of levels (0 for the roots only), not "${text.slice(0, 60)}"`, usage);
  return Number(text);
}

export function filterTree(apps: readonly App[], f: TreeFilter, rootIds?: readonly string[]): App[] {
  const byId = new Map(apps.map((a) => [a.app_id, a]));
  const isRoot = (a: App): boolean => (rootIds ? rootIds.includes(a.app_id) : a.parent_id === null || !byId.has(a.parent_id));
  const matches = (a: App): boolean => (!f.active || !TERMINAL_STATUSES.includes(a.status)) && (f.sinceMs === undefined || Date.parse(a.updated_at) >= f.sinceMs);
  const kept = new Set<string>();
  if (!f.active && f.sinceMs === undefined) for (const a of apps) kept.add(a.app_id);
  else {
    for (const a of apps) {
      if (!matches(a)) continue;
      // The app and the apps above it, up to its root (a parent cycle ends at a node already kept).
      for (let n: App | undefined = a; n && !kept.has(n.app_id); n = isRoot(n) || n.parent_id === null ? undefined : byId.get(n.parent_id)) kept.add(n.app_id);
    }
    for (const id of rootIds ?? []) if (byId.has(id)) kept.add(id);
  }
  if (f.depth === undefined) return apps.filter((a) => kept.has(a.app_id));
  return apps.filter((a) => kept.has(a.app_id) && depthOf(a, byId, isRoot) <= f.depth!);
}

function depthOf(a: App, byId: ReadonlyMap<string, App>, isRoot: (a: App) => boolean): number {
  let depth = 0;
  const seen = new Set<string>();
  for (let n = a; !isRoot(n) && n.parent_id !== null && !seen.has(n.app_id); depth++) {
    seen.add(n.app_id);
    const p = byId.get(n.parent_id);
    if (!p) break;
    n = p;
  }
  return depth;
}
