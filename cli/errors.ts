/**
 * Every failure the CLI reports is a CliError: one line for stderr (also
 * `{"error": {code, message, exit_code}}` on stdout under --json) and the
 * exit code. Usage errors also name their command, whose synopsis follows
 * the line ('' for the top level).
 */
import { EXIT } from './exit-codes.js';

export class CliError extends Error {
  /** The error's code under --json: "usage", "failed", or the gateway's own (ApiFailure). */
  readonly code: string;

  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    readonly usage?: string,
    code?: string,
    /** More for --json (the matches of an ambiguous id prefix). */
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CliError';
    this.code = code ?? (exitCode === EXIT.usage ? 'usage' : 'failed');
  }
}

/** `usage` is the name of the command whose synopsis follows the message ('' for the top level). */
export function usageError(message: string, usage?: string): CliError {
  return new CliError(message, EXIT.usage, usage);
}

/** A refusal from the gateway's REST API, as one line: "app … is already done (409 conflict)". */
export class ApiFailure extends CliError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(`${message} (${status} ${code})`, EXIT.failed, undefined, code, { status });
    this.name = 'ApiFailure';
  }
}

/** A JSON argument, or a usage error that names the option and what is wrong with it. */
export function parseJsonArg(text: string, what: string, usage?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usageError(`${what} is not valid JSON (${(e as Error).message}): ${short(text)}`, usage);
  }
}

export function short(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The useful part of a network error: fetch hides "connect ECONNREFUSED …" in its cause. */
export function describeCause(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } } | undefined;
  return e?.cause?.message || e?.message || String(err);
}
