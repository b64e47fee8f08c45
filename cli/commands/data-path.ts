/**
 * The data path as the registered app (TRAILS_APP_ID + TRAILS_APP_KEY):
 * `status JSON`, `result JSON`, `error MSG`, `shutdown`. Each is handed to
 * the app's session agent (started by `trails register`), which sends it on
 * the app's one connection and answers once the gateway acknowledged it
 * durably (for shutdown: once the gateway stored the disconnect).
 */
import type { Parsed } from '../args.js';
import { seconds, str } from '../args.js';
import type { AgentRequest } from '../agent/protocol.js';
import { runtimeDir, socketPath } from '../agent/paths.js';
import type { AgentCallError } from '../agent/protocol.js';
import type { CommandContext } from '../context.js';
import { CliError, parseJsonArg, usageError } from '../errors.js';
import { appKeyPair } from '../settings.js';
import type { JsonValue } from '../../protocol/frames.js';
import { maxPositionals, usageOf, type Command } from './common.js';

const DEFAULT_TIMEOUT_S = 10;
/** Extra time for the agent's own answer beyond the ack wait. */
const CALL_SLACK_MS = 10_000;

interface Me {
  appId: string;
  key: string;
  socket: string;
}

function me(ctx: CommandContext, usage: string): Me {
  const appId = ctx.settings.appId;
  const key = ctx.settings.env.TRAILS_APP_KEY;
  if (!appId || !key) throw usageError('this reports as the registered app: TRAILS_APP_ID and TRAILS_APP_KEY must be set (eval "$(trails register)")', usage);
  appKeyPair(key); // a clear message for a malformed key
  return { appId, key, socket: socketPath(runtimeDir(ctx.settings.env), appId) };
}

async function callMe(ctx: CommandContext, m: Me, req: AgentRequest, timeoutMs: number): Promise<{ seq: number; duplicate?: boolean; already?: string }> {
  let reply;
  try {
    reply = await ctx.agents.call(m.socket, req, timeoutMs + CALL_SLACK_MS);
  } catch (e) {
    const err = e as AgentCallError;
    if (err.kind === 'absent') {
      throw new CliError(
        `no session agent for app ${m.appId} (${m.socket}): the shell that registered it has ended (the app is crashed), or it was registered with another TRAILS_RUNTIME_DIR; nothing was sent`,
      );
    }
    throw new CliError(`session agent of app ${m.appId}: ${err.message ?? String(e)}`);
  }
  if (!reply.ok) throw new CliError(reply.message);
  return reply;
}

function timeoutOf(p: Parsed, usage: string): number {
  return (seconds(str(p, 'timeout'), 'timeout', usage, { max: 3600 }) ?? DEFAULT_TIMEOUT_S) * 1000;
}

async function report(ctx: CommandContext, p: Parsed, usage: string, msgType: 'Status' | 'Result' | 'Error', payload: JsonValue): Promise<number> {
  const m = me(ctx, usage);
  const timeoutMs = timeoutOf(p, usage);
  const r = await callMe(ctx, m, { op: 'report', key: m.key, msgType, payload, timeoutMs }, timeoutMs);
  if (ctx.settings.json) ctx.out.json({ app_id: m.appId, msg_type: msgType, seq: r.seq, acked: true, ...(r.duplicate ? { duplicate: true } : {}) });
  return 0;
}

/** `trails status JSON` (the query form is in status.ts). */
export function reportStatus(p: Parsed, ctx: CommandContext): Promise<number> {
  const usage = usageOf('status');
  maxPositionals(p, 1, usage);
  const payload = parseJsonArg(p.positionals[0]!, 'the status payload', usage) as JsonValue;
  return report(ctx, p, usage, 'Status', payload);
}

export const result: Command = {
  name: 'result',
  spec: { timeout: 'string' },
  async run(p, ctx) {
    const usage = usageOf('result');
    maxPositionals(p, 1, usage);
    if (p.positionals.length === 0) throw usageError('give the result as JSON', usage);
    const payload = parseJsonArg(p.positionals[0]!, 'the result', usage) as JsonValue;
    return report(ctx, p, usage, 'Result', payload);
  },
};

export const error: Command = {
  name: 'error',
  spec: { detail: 'string', timeout: 'string' },
  async run(p, ctx) {
    const usage = usageOf('error');
    maxPositionals(p, 1, usage);
    if (p.positionals.length === 0) throw usageError('give the error message', usage);
    const detailText = str(p, 'detail');
    const detail = detailText === undefined ? null : (parseJsonArg(detailText, '--detail', usage) as JsonValue);
    return report(ctx, p, usage, 'Error', { message: p.positionals[0]!, detail });
  },
};

const REASONS = ['completed', 'error', 'failed'];

export const shutdown: Command = {
  name: 'shutdown',
  spec: { reason: 'string', timeout: 'string' },
  async run(p, ctx) {
    const usage = usageOf('shutdown');
    maxPositionals(p, 0, usage);
    const reason = str(p, 'reason') ?? 'completed';
    if (!REASONS.includes(reason)) throw usageError(`--reason must be one of ${REASONS.join(', ')}, not "${reason}"`, usage);
    const m = me(ctx, usage);
    const timeoutMs = timeoutOf(p, usage);
    // After result or error the app has ended already: shutdown is then the no-op the §25 story expects.
    const r = await callMe(ctx, m, { op: 'shutdown', key: m.key, reason, timeoutMs }, timeoutMs);
    if (ctx.settings.json) ctx.out.json({ app_id: m.appId, disconnected: r.already ? null : reason, last_seq: r.seq, ...(r.already ? { already_ended: r.already } : {}) });
    return 0;
  },
};
