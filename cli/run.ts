/**
 * The CLI as a function: argv and environment in, text on two sinks and an
 * exit code out. main.ts wires it to the process; tests call it directly.
 */
import { GLOBAL_OPTS, parseArgs, str, type Parsed } from './args.js';
import { agentPort, type AgentPort } from './agent/port.js';
import { spawnAgent } from './agent/launch.js';
import { ensureRuntimeDir, logPath, runtimeDir } from './agent/paths.js';
import { HttpApiClient } from './api/http-client.js';
import type { ApiClient } from './api/types.js';
import { makeOutput, type CommandContext, type Sink } from './context.js';
import { ApiFailure, CliError, usageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { COMMANDS, topUsage } from './help.js';
import { resolveSettings, type Env, type Settings } from './settings.js';
import type { Command } from './commands/common.js';
import { cancel } from './commands/cancel.js';
import { childInfo } from './commands/child-info.js';
import { children } from './commands/children.js';
import { error, result, shutdown } from './commands/data-path.js';
import { register } from './commands/register.js';
import { send } from './commands/send.js';
import { status } from './commands/status.js';
import { tree } from './commands/tree.js';
import { wait } from './commands/wait.js';

export const COMMAND_TABLE: Record<string, Command> = Object.fromEntries(
  [tree, children, status, result, error, shutdown, register, childInfo, send, cancel, wait].map((c) => [c.name, c]),
);

export interface RunIo {
  stdout: Sink;
  stderr: Sink;
  env: Env;
  cwd: string;
  /** Session agents (default: detached processes). */
  agents?: AgentPort;
  /** An API client instead of the HTTP one (tests). */
  api?: (settings: Settings) => ApiClient;
  fetch?: typeof fetch;
  /** The shell that ran the CLI (default: none, so nothing is tied to it). */
  ownerPid?: number | null;
  now?: () => number;
}

export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  const out = makeOutput(io.stdout, io.stderr);
  let settings: Settings | undefined;
  try {
    const { name, rest, leading } = splitCommand(argv);
    if (name === undefined) {
      if (leading.opts.help) return out.out(topUsage()), EXIT.ok;
      throw usageError('give a command', topUsage());
    }
    const cmd = COMMAND_TABLE[name];
    if (!cmd) throw usageError(`unknown command "${name.slice(0, 40)}"`, topUsage());
    const usage = COMMANDS[cmd.name]!.usage;
    const p: Parsed = parseArgs(rest, { ...GLOBAL_OPTS, ...cmd.spec }, usage);
    if (leading.opts.help || p.opts.help) return out.out(usage), EXIT.ok;
    const pick = (name: string): string | undefined => str(p, name) ?? str(leading, name);
    const server = pick('server');
    const dataDir = pick('data-dir');
    const json = p.opts.json === true || leading.opts.json === true;
    settings = resolveSettings({ ...(server !== undefined ? { server } : {}), ...(dataDir !== undefined ? { dataDir } : {}), json }, io.env, io.cwd);
    const s = settings;
    const ctx: CommandContext = {
      settings: s,
      api: io.api ? io.api(s) : new HttpApiClient({ serverUrl: s.serverUrl, signer: () => s.signer(), ...(io.fetch ? { fetch: io.fetch } : {}) }),
      agents: io.agents ?? agentPort((spec) => spawnAgent(logPath(ensureRuntimeDir(runtimeDir(s.env)), spec.config.appId))(spec)),
      out,
      now: io.now ?? Date.now,
      ownerPid: io.ownerPid ?? null,
    };
    return await cmd.run(p, ctx);
  } catch (err) {
    return report(err, out, settings);
  }
}

/** Global options may come before the command; the command is the first other word. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[]; leading: Parsed } {
  let i = 0;
  const lead: string[] = [];
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '-h') {
      lead.push('--help');
      i++;
      continue;
    }
    if (!a.startsWith('--') || a === '--') break;
    lead.push(a);
    const bare = a.slice(2).split('=')[0]!;
    if (GLOBAL_OPTS[bare] === 'string' && !a.includes('=')) {
      if (i + 1 < argv.length) lead.push(argv[i + 1]!);
      i += 2;
    } else i++;
  }
  const leading = parseArgs(lead, GLOBAL_OPTS, topUsage());
  return { name: argv[i], rest: argv.slice(i + 1), leading };
}

function report(err: unknown, out: ReturnType<typeof makeOutput>, settings: Settings | undefined): number {
  if (err instanceof CliError) {
    let message = err.message;
    if (err instanceof ApiFailure && err.status === 401) message += hint401(settings);
    out.err(`trails: ${message}`);
    if (err.usage) out.err(err.usage);
    return err.exitCode;
  }
  out.err(`trails: unexpected failure: ${(err as Error)?.stack ?? String(err)}`);
  return EXIT.failed;
}

function hint401(settings: Settings | undefined): string {
  if (!settings) return '';
  try {
    const s = settings.signer();
    return s.kind === 'admin' ? `; is ${settings.dataDir} the data directory of the gateway at ${settings.serverUrl}?` : `; is app ${s.appId} registered with this TRAILS_APP_KEY at ${settings.serverUrl}?`;
  } catch {
    return '';
  }
}
