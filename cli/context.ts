/**
 * What a command function receives: the parsed settings, an API client, the
 * session-agent port for the data path, and output sinks. Commands never
 * touch process.* directly, so they run the same in tests and in the bin.
 */
import type { ApiClient } from './api/types.js';
import type { AgentPort } from './agent/port.js';
import type { Settings } from './settings.js';

export interface Sink {
  (text: string): void;
}

export interface Output {
  /** A line (or lines) for stdout. */
  out(text: string): void;
  /** A line for stderr. */
  err(text: string): void;
  /** JSON on one line for stdout. */
  json(value: unknown): void;
}

export function makeOutput(stdout: Sink, stderr: Sink): Output {
  return {
    out: (text) => stdout(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => stderr(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => stdout(`${JSON.stringify(value)}\n`),
  };
}

export interface CommandContext {
  settings: Settings;
  api: ApiClient;
  agents: AgentPort;
  out: Output;
  /** ms since the epoch. */
  now(): number;
  /** The process that ran the CLI (the shell): what `register` ties a session agent's life to. */
  ownerPid: number | null;
}

export type CommandFn = (argv: readonly string[], ctx: CommandContext) => Promise<number>;
