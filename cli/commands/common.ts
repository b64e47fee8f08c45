/** Small helpers the commands share: targets, UUIDs, statuses, positionals. */
import { isUuid } from '../../protocol/parse.js';
import { APP_STATUSES } from '../../protocol/api/resources.js';
import type { AppStatus } from '../../protocol/api/resources.js';
import type { OptSpec, Parsed } from '../args.js';
import { str } from '../args.js';
import type { CommandContext } from '../context.js';
import { usageError } from '../errors.js';
import { COMMANDS } from '../help.js';

export interface Command {
  name: keyof typeof COMMANDS & string;
  spec: OptSpec;
  run(p: Parsed, ctx: CommandContext): Promise<number>;
}

/** What a command's usage errors carry: its name, whose synopsis run() prints after the message. */
export const usageOf = (name: string): string => name;

export function uuidArg(value: string, what: string, usage: string): string {
  if (!isUuid(value)) throw usageError(`${what} must be an app UUID or a unique prefix of one (4 or more hex digits), not "${String(value).slice(0, 64)}"`, usage);
  return value.toLowerCase();
}

/** --uuid, else TRAILS_APP_ID, else a usage error. */
export function target(p: Parsed, ctx: CommandContext, usage: string, opt = 'uuid'): string {
  const given = str(p, opt);
  if (given !== undefined) return uuidArg(given, `--${opt}`, usage);
  if (ctx.settings.appId) return ctx.settings.appId;
  throw usageError(`give --${opt} ID (or run as a registered app: TRAILS_APP_ID)`, usage);
}

export function statusArg(value: string | undefined, usage: string): AppStatus | undefined {
  if (value === undefined) return undefined;
  if (!(APP_STATUSES as readonly string[]).includes(value)) throw usageError(`--status must be one of ${APP_STATUSES.join(', ')}, not "${value}"`, usage);
  return value as AppStatus;
}

export function maxPositionals(p: Parsed, n: number, usage: string): void {
  if (p.positionals.length > n) throw usageError(`unexpected argument "${p.positionals[n]!.slice(0, 60)}"`, usage);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
