/**
 * A small argv parser: `--name value`, `--name=value`, boolean `--flag`,
 * `--` to end options, and positionals anywhere. Unknown options are usage
 * errors naming the option. A lone "-" or "-5" is a positional.
 */
import { usageError } from './errors.js';

export type OptKind = 'string' | 'boolean';
export type OptSpec = Record<string, OptKind>;

export interface Parsed {
  opts: Record<string, string | boolean | undefined>;
  positionals: string[];
}

const isOption = (a: string): boolean => a.startsWith('--') && a.length > 2;

export function parseArgs(argv: readonly string[], spec: OptSpec, usage?: string): Parsed {
  const opts: Parsed['opts'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!isOption(arg)) {
      if (arg === '-h') {
        opts.help = true;
        continue;
      }
      if (/^-[A-Za-z]/.test(arg)) throw usageError(`unknown option ${arg}`, usage);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw usageError(`unknown option --${name}`, usage);
    if (kind === 'boolean') {
      if (eq >= 0) throw usageError(`--${name} takes no value`, usage);
      opts[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw usageError(`--${name} needs a value`, usage);
    if (opts[name] !== undefined) throw usageError(`--${name} is given more than once`, usage);
    opts[name] = value;
  }
  return { opts, positionals };
}

/** Options every command takes; main splits them off before the command's own parse. */
export const GLOBAL_OPTS: OptSpec = { server: 'string', 'data-dir': 'string', json: 'boolean', help: 'boolean' };

export function str(p: Parsed, name: string): string | undefined {
  const v = p.opts[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.opts[name] === true;
}

/** Seconds as a positive number ("30", "0.5"), or a usage error. */
export function seconds(text: string | undefined, name: string, usage?: string, opts: { allowZero?: boolean; max?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || (n === 0 && !opts.allowZero) || (opts.max !== undefined && n > opts.max)) {
    const range = opts.max !== undefined ? ` up to ${opts.max}` : '';
    throw usageError(`--${name} must be a number of seconds${opts.allowZero ? '' : ' above 0'}${range}, not "${text}"`, usage);
  }
  return n;
}
