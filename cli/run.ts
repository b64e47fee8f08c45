/**
 * The CLI as a function: argv and environment in, text on two sinks and an
 * exit code out. main.ts wires it to the process; tests call it directly.
 */
import { agentPort, type AgentPort } from './agent/port.js';
import { spawnAgent } from './agent/launch.js';
import { ensureRuntimeDir, logPath, runtimeDir } from './agent/paths.js';
import { HttpApiClient } from './api/http-client.js';
import type { ApiClient } from './api/types.js';
import { makeOutput, type CommandContext, type Output, type Sink } from './context.js';
import { ApiFailure, CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { COMMANDS } from './help.js';
import { resolveAppIds } from './ids.js';
import { parseCommandLine, usageLines, wantsJson } from './program.js';
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
  const out = trackJson(makeOutput(io.stdout, io.stderr));
  const json = wantsJson(argv);
  let settings: Settings | undefined;
  try {
    const inv = parseCommandLine(argv, COMMAND_TABLE);
    if (inv.kind === 'help') return out.out(inv.text), EXIT.ok;
    settings = resolveSettings(inv.globals, io.env, io.cwd);
    const s = settings;
    const ctx: CommandContext = {
      settings: s,
      api: io.api ? io.api(s) : new HttpApiClient({ serverUrl: s.serverUrl, signer: () => s.signer(), ...(io.fetch ? { fetch: io.fetch } : {}) }),
      agents: io.agents ?? agentPort((spec) => spawnAgent(logPath(ensureRuntimeDir(runtimeDir(s.env)), spec.config.appId))(spec)),
      out,
      now: io.now ?? Date.now,
      ownerPid: io.ownerPid ?? null,
    };
    const parsed = await resolveAppIds(inv.parsed, COMMANDS[inv.command.name]?.args ?? [], ctx.api);
    return await inv.command.run(parsed, ctx);
  } catch (err) {
    return report(err, out, settings, json);
  }
}

/** An Output that remembers whether a JSON document went out, so a failure after it adds no second one. */
function trackJson(out: Output): Output & { jsonWritten: boolean } {
  const t = {
    ...out,
    jsonWritten: false,
    json: (value: unknown) => {
      t.jsonWritten = true;
      out.json(value);
    },
  };
  return t;
}

function report(err: unknown, out: Output & { jsonWritten: boolean }, settings: Settings | undefined, json: boolean): number {
  const e = err instanceof CliError ? err : undefined;
  let message = e ? e.message : `unexpected failure: ${(err as Error)?.stack ?? String(err)}`;
  if (err instanceof ApiFailure && err.status === 401) message += hint401(settings);
  const exitCode = e ? e.exitCode : EXIT.failed;
  if (json && !out.jsonWritten) out.json({ error: { code: e ? e.code : 'internal', message: e ? message : String(err), exit_code: exitCode, ...e?.detail } });
  out.err(`trails: ${message}`);
  if (e?.usage !== undefined) out.err(usageLines(e.usage));
  return exitCode;
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
