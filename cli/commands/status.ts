/**
 * `trails status`: with --uuid (or nothing) a non-blocking query of an app's
 * state; with a positional JSON argument a Status report as the registered
 * app (data-path.ts). The argument decides which.
 */
import { str } from '../args.js';
import type { App } from '../api/types.js';
import type { CommandContext } from '../context.js';
import { usageError } from '../errors.js';
import { appLine, progressOf } from '../render/app-line.js';
import type { JsonValue } from '../../protocol/frames.js';
import type { CrashRow, SnapshotRow } from '../../protocol/api/resources.js';
import { maxPositionals, target, usageOf, type Command } from './common.js';
import { reportStatus } from './data-path.js';
import { isIdPrefix } from '../ids.js';
import { isUuid } from '../../protocol/parse.js';

const usage = usageOf('status');

export const status: Command = {
  name: 'status',
  spec: { uuid: 'string', timeout: 'string' },
  async run(p, ctx) {
    if (p.positionals.length > 0) {
      if (str(p, 'uuid') !== undefined) throw usageError('give --uuid ID to query, or a JSON payload to report, not both', usage);
      const arg = p.positionals[0]!;
      // `trails status 8f3a1b2c` means a query more often than a report: say how to ask for it.
      if ((isUuid(arg) || isIdPrefix(arg)) && !isJson(arg)) throw usageError(`"${arg}" is not a JSON payload to report; to query that app, give --uuid ${arg}`, usage);
      return reportStatus(p, ctx);
    }
    maxPositionals(p, 0, usage);
    return query(ctx, target(p, ctx, usage));
  },
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface Facts {
  app: App;
  latest_snapshot: SnapshotRow | null;
  result?: JsonValue;
  error?: JsonValue;
  crash?: CrashRow;
}

async function query(ctx: CommandContext, appId: string): Promise<number> {
  const app = await ctx.api.getApp(appId);
  const facts: Facts = { app, latest_snapshot: (await ctx.api.latestSnapshot(appId)) ?? null };
  if (app.status === 'done') {
    const last = (await ctx.api.messages(appId, { type: 'Result' })).at(-1);
    if (last) facts.result = last.payload_json;
  } else if (app.status === 'error') {
    const last = (await ctx.api.messages(appId, { type: 'Error' })).at(-1);
    if (last) facts.error = last.payload_json;
  } else if (app.status === 'crashed' || app.status === 'start_failed' || app.status === 'lost_contact') {
    const crash = (await ctx.api.crashes(appId, 1))[0];
    if (crash) facts.crash = crash;
  }
  if (ctx.settings.json) {
    ctx.out.json(facts);
    return 0;
  }
  const live = app.status === 'running' || app.status === 'connected';
  const lines = [appLine(app, live ? progressOf(facts.latest_snapshot?.snapshot_json) : undefined)];
  lines.push(`  app id   ${app.app_id}`);
  lines.push(`  parent   ${app.parent_id ?? '(root)'}`);
  lines.push(`  updated  ${app.updated_at}`);
  const snap = facts.latest_snapshot;
  if (snap) lines.push(`  status   #${snap.seq} ${JSON.stringify(snap.snapshot_json)}`);
  if (facts.result !== undefined) lines.push(`  result   ${JSON.stringify(facts.result)}`);
  if (facts.error !== undefined) lines.push(`  error    ${JSON.stringify(facts.error)}`);
  if (facts.crash) lines.push(`  crash    ${facts.crash.crash_type} at ${facts.crash.detected_at}`);
  ctx.out.out(lines.join('\n'));
  return 0;
}
