/** Draws apps as trees with box-drawing branches (├── └── │), children oldest first. */
import type { App } from '../api/types.js';
import { appLine } from './app-line.js';

export function renderForest(apps: readonly App[], progress: ReadonlyMap<string, number>, rootIds?: readonly string[]): string[] {
  const byId = new Map(apps.map((a) => [a.app_id, a]));
  const kids = new Map<string, App[]>();
  for (const a of apps) {
    if (a.parent_id === null || !byId.has(a.parent_id)) continue;
    const list = kids.get(a.parent_id) ?? [];
    list.push(a);
    kids.set(a.parent_id, list);
  }
  for (const list of kids.values()) list.sort(byCreated);
  const roots = rootIds ? rootIds.map((id) => byId.get(id)).filter((a): a is App => a !== undefined) : apps.filter((a) => a.parent_id === null || !byId.has(a.parent_id)).sort(byCreated);
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (a: App, prefix: string, branch: string): void => {
    if (seen.has(a.app_id)) return; // a parent cycle would otherwise never end
    seen.add(a.app_id);
    lines.push(`${prefix}${branch}${appLine(a, progress.get(a.app_id))}`);
    const children = kids.get(a.app_id) ?? [];
    const childPrefix = prefix + (branch === '' ? '' : branch === '└── ' ? '    ' : '│   ');
    children.forEach((c, i) => walk(c, childPrefix, i === children.length - 1 ? '└── ' : '├── '));
  };
  for (const r of roots) walk(r, '', '');
  return lines;
}

function byCreated(a: App, b: App): number {
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.app_id < b.app_id ? -1 : 1;
}
