/**
 * `trails wait`: distributed waitpid (spec §14). Prints the Result payload
 * (the Error payload on failure) and exits with the §14 code; --json prints
 * the outcome; --progress narrates on stderr. See help.ts for the forms.
 */
import { flag, seconds, str } from '../args.js';
import { usageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { progressOf, shortId } from '../render/app-line.js';
import { runWait } from '../wait/runner.js';
import type { Mode, Note, Outcome, Scope, Track } from '../wait/state.js';
import { maxPositionals, uuidArg, usageOf, type Command } from './common.js';

const usage = usageOf('wait');

export const wait: Command = {
  name: 'wait',
  spec: { uuid: 'string', uuids: 'string', parent: 'string', any: 'boolean', all: 'boolean', timeout: 'string', progress: 'boolean' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const { scope, mode } = planOf(str(p, 'uuid'), str(p, 'uuids'), str(p, 'parent'), flag(p, 'any'), flag(p, 'all'));
    const timeout = seconds(str(p, 'timeout'), 'timeout', usage);
    const json = ctx.settings.json;
    const onNote = flag(p, 'progress') ? (n: Note) => ctx.out.err(json ? JSON.stringify(noteJson(n)) : noteText(n)) : undefined;
    const end = await runWait(ctx.api, { scope, mode, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}), ...(onNote ? { onNote } : {}) });
    if (end.kind === 'timeout') {
      if (json) ctx.out.json({ timeout: true, pending: end.pending.map((t) => ({ app_id: t.app_id, app_name: t.app_name, status: t.status })) });
      ctx.out.err(`trails: timed out after ${timeout} s; still waiting for ${end.pending.map(label).join(', ') || 'nothing'}`);
      return EXIT.timeout;
    }
    if (mode === 'all') {
      ctx.out.json(end.outcomes);
      for (const o of end.outcomes) if (o.exit_code !== 0) ctx.out.err(`trails: ${describe(o)}`);
      return end.exitCode;
    }
    const o = end.outcomes[0]!;
    if (json) ctx.out.json(o);
    else {
      const payload = o.result ?? o.error;
      if (payload !== undefined) ctx.out.json(payload);
    }
    if (o.exit_code !== 0) ctx.out.err(`trails: ${describe(o)}`);
    else if (scope.kind === 'parent' || (scope.kind === 'ids' && scope.ids.length > 1)) ctx.out.err(`trails: ${describe(o)}`);
    return o.exit_code;
  },
};

function planOf(uuid: string | undefined, uuids: string | undefined, parent: string | undefined, any: boolean, all: boolean): { scope: Scope; mode: Mode } {
  const given = [uuid, uuids, parent].filter((v) => v !== undefined).length;
  if (given !== 1) throw usageError('give exactly one of --uuid ID, --uuids A,B,C or --parent ID', usage);
  if (any && all) throw usageError('give --any or --all, not both', usage);
  if (uuid !== undefined) {
    if (any || all) throw usageError('--any and --all go with --uuids or --parent', usage);
    return { scope: { kind: 'ids', ids: [uuidArg(uuid, '--uuid', usage)] }, mode: 'any' };
  }
  if (!any && !all) throw usageError(`--${uuids !== undefined ? 'uuids' : 'parent'} needs --any or --all`, usage);
  const mode: Mode = any ? 'any' : 'all';
  if (parent !== undefined) return { scope: { kind: 'parent', parentId: uuidArg(parent, '--parent', usage) }, mode };
  const ids = [...new Set(uuids!.split(',').map((s) => s.trim()).filter(Boolean).map((s) => uuidArg(s, '--uuids', usage)))];
  if (ids.length === 0) throw usageError('--uuids needs at least one app UUID', usage);
  return { scope: { kind: 'ids', ids }, mode };
}

const label = (t: Pick<Track, 'app_id' | 'app_name' | 'status'>): string => `${t.app_name ?? '?'} (${t.app_id}) [${t.status}]`;

function describe(o: Outcome): string {
  const who = `${o.app_name ?? 'app'} (${o.app_id})`;
  switch (o.status) {
    case 'done':
      return `${who} done`;
    case 'error': {
      const e = o.error as { message?: unknown } | null | undefined;
      return `${who} failed${e && typeof e === 'object' && e.message !== undefined ? `: ${String(e.message)}` : ''}`;
    }
    case 'cancelled':
      return `${who} was cancelled`;
    case 'start_failed':
      return `${who} never started (start_failed${o.crash_type ? `, ${o.crash_type}` : ''})`;
    case 'lost_contact':
      return `${who} lost contact with the gateway`;
    default:
      return `${who} crashed${o.crash_type ? ` (${o.crash_type})` : ''}`;
  }
}

function who(t: Track): string {
  return `${t.app_name ?? '?'} (${shortId(t.app_id)})`;
}

function noteText(n: Note): string {
  if (n.kind === 'found') {
    const pct = progressOf(n.snapshot);
    const last = n.snapshot !== undefined ? ` last status #${n.seq}: ${JSON.stringify(n.snapshot)}` : '';
    return `${who(n.track)} [${n.track.status}${pct !== undefined && !n.track.ended ? ` ▶ ${pct}%` : ''}]${last}`;
  }
  const e = n.event;
  switch (e.type) {
    case 'message': {
      const pct = e.msg_type === 'Status' ? progressOf(e.payload) : undefined;
      return `${who(n.track)} ${e.msg_type} #${e.seq}${pct !== undefined ? ` ▶ ${pct}%` : ''}: ${JSON.stringify(e.payload ?? null)}`;
    }
    case 'app_status':
      return `${who(n.track)} → ${e.status}`;
    case 'crash':
      return `${who(n.track)} crash: ${e.crash_type}`;
    default:
      return `${who(n.track)} control ${e.action}: ${e.status}`;
  }
}

function noteJson(n: Note): object {
  if (n.kind === 'found') return { type: 'found', app_id: n.track.app_id, app_name: n.track.app_name, status: n.track.status, ...(n.snapshot !== undefined ? { latest_snapshot: n.snapshot, seq: n.seq } : {}) };
  return { type: 'event', event: n.event };
}

