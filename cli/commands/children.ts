/** `trails children [--uuid ID] [--status S] [--recursive]`. */
import { flag, str } from '../args.js';
import { shortId, statusLabel, whereOf } from '../render/app-line.js';
import { maxPositionals, statusArg, target, usageOf, type Command } from './common.js';

const usage = usageOf('children');

export const children: Command = {
  name: 'children',
  spec: { uuid: 'string', status: 'string', recursive: 'boolean' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const status = statusArg(str(p, 'status'), usage);
    const appId = target(p, ctx, usage);
    const recursive = flag(p, 'recursive');
    const rows = await ctx.api.children(appId, { recursive, ...(status ? { status } : {}) });
    if (ctx.settings.json) {
      ctx.out.json({ app_id: appId, recursive, children: rows });
      return 0;
    }
    if (rows.length === 0) {
      ctx.out.out('(no children)');
      return 0;
    }
    const table = rows.map((a) => [a.app_id, statusLabel(a), a.app_name, ...(recursive ? [a.parent_id ? shortId(a.parent_id) : '-'] : []), whereOf(a)]);
    const head = ['APP_ID', 'STATUS', 'NAME', ...(recursive ? ['PARENT'] : []), 'WHERE'];
    ctx.out.out(columns([head, ...table]).join('\n'));
    return 0;
  },
};

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd());
}
