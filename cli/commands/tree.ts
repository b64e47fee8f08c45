/** `trails tree [--uuid ID] [--active] [--depth N] [--since WHEN]`: the §25 picture of a subtree, or of every tree. */
import { flag, str, type Parsed } from '../args.js';
import type { App } from '../api/types.js';
import type { CommandContext } from '../context.js';
import { progressOf } from '../render/app-line.js';
import { renderForest } from '../render/tree.js';
import { mapLimit, maxPositionals, uuidArg, usageOf, type Command } from './common.js';
import { filterTree, parseDepth, parseSince, type TreeFilter } from './tree-filter.js';

const usage = usageOf('tree');

interface Node extends App {
  progress?: number;
  children: Node[];
}

export const tree: Command = {
  name: 'tree',
  spec: { uuid: 'string', active: 'boolean', depth: 'string', since: 'string' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const filter = filterOf(p, ctx.now());
    const given = str(p, 'uuid');
    const rootId = given !== undefined ? uuidArg(given, '--uuid', usage) : ctx.settings.appId;
    let apps: App[];
    if (rootId) {
      const root = await ctx.api.getApp(rootId);
      apps = [root, ...(await ctx.api.children(rootId, { recursive: true }))];
    } else {
      apps = await ctx.api.listApps({ limit: 10_000 });
    }
    const roots = rootId ? [rootId] : undefined;
    apps = filterTree(apps, filter, roots);
    const progress = await liveProgress(ctx, apps);
    if (ctx.settings.json) {
      ctx.out.json({ trees: nest(apps, progress, roots) });
      return 0;
    }
    const lines = renderForest(apps, progress, roots);
    ctx.out.out(lines.length ? lines.join('\n') : '(no apps)');
    return 0;
  },
};

function filterOf(p: Parsed, now: number): TreeFilter {
  const depth = str(p, 'depth');
  const since = str(p, 'since');
  return { active: flag(p, 'active'), ...(depth !== undefined ? { depth: parseDepth(depth, usage) } : {}), ...(since !== undefined ? { sinceMs: parseSince(since, now, usage) } : {}) };
}

/** The progress of running apps, from their latest snapshot (one request each, a few at a time). */
async function liveProgress(ctx: CommandContext, apps: readonly App[]): Promise<Map<string, number>> {
  const live = apps.filter((a) => a.status === 'running' || a.status === 'connected');
  const found = await mapLimit(live, 8, async (a) => [a.app_id, progressOf((await ctx.api.latestSnapshot(a.app_id))?.snapshot_json)] as const);
  return new Map(found.filter((e): e is readonly [string, number] => e[1] !== undefined));
}

function nest(apps: readonly App[], progress: ReadonlyMap<string, number>, rootIds?: readonly string[]): Node[] {
  const nodes = new Map<string, Node>(apps.map((a) => [a.app_id, { ...a, ...(progress.has(a.app_id) ? { progress: progress.get(a.app_id)! } : {}), children: [] }]));
  const roots: Node[] = [];
  for (const n of nodes.values()) {
    const parent = n.parent_id !== null ? nodes.get(n.parent_id) : undefined;
    if (parent && !rootIds?.includes(n.app_id)) parent.children.push(n);
    else if (!rootIds || rootIds.includes(n.app_id)) roots.push(n);
  }
  return roots;
}
