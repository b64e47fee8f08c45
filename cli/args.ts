/**
 * What a command receives from the command line (program.ts parses it with
 * commander): its options by name, as its `spec` declares them, and its
 * positional arguments; plus the small value checks the commands share.
 */
import { usageError } from './errors.js';

export type OptKind = 'string' | 'boolean';
export type OptSpec = Record<string, OptKind>;

export interface Parsed {
  opts: Record<string, string | boolean | undefined>;
  positionals: string[];
}

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
