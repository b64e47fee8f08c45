/**
 * The comparisons of the step format. Frame checks are strict (JSON deep
 * equality); database checks are loose, because the reference's expectations
 * were written for Postgres: String(actual) === String(expected), and
 * true/false also match 1/0 (SQLite has no boolean).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Check, Json, JsonObject } from './scenario.js';
import { verifiesWith } from './signatures.js';

/** Returns one message per failed check (empty when all pass). */
export function checkFields(subject: Record<string, unknown>, checks: readonly Check[]): string[] {
  const failures: string[] = [];
  for (const c of checks) {
    const actual = lookup(subject, c.field);
    const shown = show(actual);
    if (c.equals !== undefined && !isDeepStrictEqual(actual, c.equals)) {
      failures.push(`"${c.field}" should equal ${show(c.equals)}, got ${shown}`);
    }
    if (c.starts_with !== undefined && !(typeof actual === 'string' && actual.startsWith(c.starts_with))) {
      failures.push(`"${c.field}" should start with ${show(c.starts_with)}, got ${shown}`);
    }
    if (c.absent === true && actual !== undefined) failures.push(`"${c.field}" should be absent, got ${shown}`);
    if (c.verifies_with !== undefined && !verifiesWith(subject, c.verifies_with)) {
      failures.push(`"${c.field}" does not verify with ${c.verifies_with}`);
    }
  }
  return failures;
}

/** `message` of client_expect: each of its top-level members must be equal. */
export function checkSubset(subject: Record<string, unknown>, expected: JsonObject): string[] {
  return checkFields(subject, Object.entries(expected).map(([field, equals]) => ({ field, equals })));
}

export function checkRow(row: Record<string, unknown> | undefined, expect: JsonObject): string[] {
  if (!row) return ['the query returned no row'];
  const failures: string[] = [];
  for (const [column, expected] of Object.entries(expect)) {
    if (!(column in row)) failures.push(`column "${column}" is not in the result (columns: ${Object.keys(row).join(', ')})`);
    else if (!looselyEqual(row[column], expected)) failures.push(`"${column}" should be ${show(expected)}, got ${show(row[column])}`);
  }
  return failures;
}

export function looselyEqual(actual: unknown, expected: Json): boolean {
  if (typeof expected === 'boolean' && (actual === 0 || actual === 1)) return (actual === 1) === expected;
  if (expected === null || actual === null) return actual === expected;
  return String(actual) === String(expected);
}

/** Dotted path lookup: "header.seq", "response.result.pong". */
export function lookup(subject: unknown, path: string): unknown {
  let cur: unknown = subject;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Sets a dotted path (creating objects on the way), for `tamper`. */
export function assign(subject: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = subject;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object') cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

export function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
