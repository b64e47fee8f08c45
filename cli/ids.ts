/**
 * App ids as people type them: `trails tree` prints 8 characters, so every
 * place that takes an app id also takes a unique prefix of one. The prefix
 * is resolved before the command runs, against the apps the caller may see
 * (GET /api/v1/apps: the admin sees all, an app its subtree), so the
 * commands themselves only ever handle full UUIDs.
 *
 * Which inputs are ids is a naming convention (help.ts): the options
 * `uuid` and `parent`, the comma list `uuids`, and an argument `[uuid]`.
 * Text that is neither a UUID nor a prefix passes through unchanged, so the
 * command's own check names what is wrong with it.
 */
import type { Parsed } from './args.js';
import type { ApiClient, App } from './api/types.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { isUuid } from '../protocol/parse.js';

const SINGLE = ['uuid', 'parent'];
const LIST = ['uuids'];
/** At least 4 hex digits, dashes where a UUID has them (so 8f3a1b2c-9 works), shorter than a UUID. */
const PREFIX = /^[0-9a-f]{4,8}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,11})?)?)?)?$/i;
/** The most a listing returns (the API's bound): beyond it a prefix may miss an app. */
const LISTING_LIMIT = 10_000;
const SHOWN = 10;

export function isIdPrefix(text: string): boolean {
  return PREFIX.test(text) && !isUuid(text);
}

/** The parsed command line with every app id prefix replaced by the one full id it names. */
export async function resolveAppIds(parsed: Parsed, argNames: readonly string[], api: ApiClient): Promise<Parsed> {
  const apps = lazyListing(api);
  const opts = { ...parsed.opts };
  for (const name of SINGLE) {
    const v = opts[name];
    if (typeof v === 'string' && isIdPrefix(v)) opts[name] = await resolvePrefix(v, `--${name}`, apps);
  }
  for (const name of LIST) {
    const v = opts[name];
    if (typeof v !== 'string') continue;
    const parts = v.split(',').map((s) => s.trim());
    const full = [];
    for (const p of parts) full.push(isIdPrefix(p) ? await resolvePrefix(p, `--${name}`, apps) : p);
    opts[name] = full.join(',');
  }
  const positionals = [...parsed.positionals];
  for (let i = 0; i < positionals.length && i < argNames.length; i++) {
    if (argNames[i] === '[uuid]' && isIdPrefix(positionals[i]!)) positionals[i] = await resolvePrefix(positionals[i]!, 'UUID', apps);
  }
  return { opts, positionals };
}

/** The one app whose id starts with `prefix`; none is a failure (1), several a usage error (64) that lists them. */
export async function resolvePrefix(prefix: string, what: string, listing: () => Promise<App[]>): Promise<string> {
  const p = prefix.toLowerCase();
  const matches = (await listing()).filter((a) => a.app_id.startsWith(p));
  if (matches.length === 1) return matches[0]!.app_id;
  if (matches.length === 0) throw new CliError(`${what} ${prefix}: no app id that this identity can see starts with it`, EXIT.failed, undefined, 'not_found');
  const lines = matches.slice(0, SHOWN).map((a) => `  ${a.app_id}  ${a.app_name} [${a.status}]`);
  if (matches.length > SHOWN) lines.push(`  … and ${matches.length - SHOWN} more`);
  throw new CliError(`${what} ${prefix} fits ${matches.length} apps; give more of the id:\n${lines.join('\n')}`, EXIT.usage, undefined, 'ambiguous_id', {
    matches: matches.map((a) => ({ app_id: a.app_id, app_name: a.app_name, status: a.status })),
  });
}

/** One listing per run, fetched only when a prefix needs it. */
function lazyListing(api: ApiClient): () => Promise<App[]> {
  let apps: Promise<App[]> | undefined;
  return () => (apps ??= api.listApps({ limit: LISTING_LIMIT }));
}
