/**
 * `trails cancel [--uuid ID] [--cascade] [--grace S] [--reason TEXT]`.
 * An app may not control itself, so run as the app without --uuid it
 * cancels its (live) children instead, each with --cascade if given: what
 * a script's `trap 'trails cancel --cascade; exit 1' INT TERM` means.
 */
import { flag, seconds, str } from '../args.js';
import type { CancelNode, CancelReport } from '../api/types.js';
import type { CommandContext } from '../context.js';
import { ApiFailure } from '../errors.js';
import { shortId } from '../render/app-line.js';
import { maxPositionals, target, usageOf, type Command } from './common.js';

const usage = usageOf('cancel');
const LIVE = ['scheduled', 'connected', 'running', 'reconnecting', 'lost_contact'];

export const cancel: Command = {
  name: 'cancel',
  spec: { uuid: 'string', cascade: 'boolean', grace: 'string', reason: 'string' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const appId = target(p, ctx, usage);
    const cascade = flag(p, 'cascade');
    const graceSeconds = seconds(str(p, 'grace'), 'grace', usage, { allowZero: true, max: 3600 });
    const reason = str(p, 'reason');
    const opts = { cascade, ...(graceSeconds !== undefined ? { graceSeconds } : {}), ...(reason !== undefined ? { reason } : {}) };
    const signer = ctx.settings.signer();
    const self = signer.kind === 'app' && signer.appId === appId;
    const reports = self ? await cancelChildren(ctx, appId, opts) : [await ctx.api.cancel(appId, opts)];
    if (ctx.settings.json) {
      ctx.out.json(self ? { app_id: appId, children: reports } : reports[0]);
      return 0;
    }
    const nodes = reports.flatMap((r) => r.nodes);
    if (self) ctx.out.err(`trails: an app cannot cancel itself; cancelling the ${reports.length} live ${reports.length === 1 ? 'child' : 'children'} of ${appId}${cascade ? ' and their subtrees' : ''}`);
    ctx.out.out(nodes.length ? nodes.map(nodeLine).join('\n') : '(nothing to cancel)');
    return 0;
  },
};

async function cancelChildren(ctx: CommandContext, appId: string, opts: Parameters<CommandContext['api']['cancel']>[1]): Promise<CancelReport[]> {
  const kids = (await ctx.api.children(appId)).filter((c) => LIVE.includes(c.status));
  // Each child's subtree goes bottom-up on its own; the children are independent of one another.
  const reports = await Promise.all(
    kids.map((k) =>
      ctx.api.cancel(k.app_id, opts).catch((e: unknown) => {
        // A child that ended meanwhile is not an error of this cancel.
        if (e instanceof ApiFailure && e.status === 409) return null;
        throw e;
      }),
    ),
  );
  return reports.filter((r): r is CancelReport => r !== null);
}

function nodeLine(n: CancelNode): string {
  const indent = '  '.repeat(n.depth);
  const status = n.status && n.status !== n.outcome ? ` (${n.status})` : '';
  return `${indent}${n.app_name} (${shortId(n.app_id)}): ${n.outcome}${status} in ${n.ms} ms`;
}
