/**
 * Conformance scenarios: the JSON step format of the reference's
 * trails-conformance suite, plus the project's own step actions (README.md
 * beside this file). Loading validates every step, so a malformed scenario
 * fails with the file and step named instead of half-running.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Check {
  /** Dotted path into the frame (or outcome), e.g. "header.seq". */
  field: string;
  equals?: Json;
  starts_with?: string;
  /** The frame's `sig` must verify against this public key (ed25519:…). */
  verifies_with?: string;
  /** The field must be missing (or undefined). */
  absent?: boolean;
}

export type Step =
  | { action: 'client_send'; message: JsonObject; sign?: boolean | string; tamper?: JsonObject; repeat?: number }
  | { action: 'server_expect'; message_type?: string; checks: Check[] }
  | { action: 'client_expect'; message?: JsonObject; checks: Check[]; timeout_seconds?: number }
  | { action: 'db_check'; query: string; expect: JsonObject }
  | { action: 'delay'; seconds: number }
  | { action: 'setup'; app?: string }
  | { action: 'client_action'; action_type: 'drop_connection'; which?: 'current' | 'previous' }
  | { action: 'client_action'; action_type: 'new_connection' }
  | { action: 'server_action'; action_type: 'simulate_restart' }
  | { action: 'server_action'; action_type: 'send_control'; app: string; control: { action: string; payload?: Json; ttl_seconds?: number }; save_as?: string }
  | { action: 'server_action'; action_type: 'await_control'; correlation_id: string; checks: Check[]; timeout_seconds?: number };

export interface Scenario {
  name: string;
  description?: string;
  precondition?: string;
  steps: Step[];
  /** Where it was read from, for messages. */
  file: string;
}

/** Server hooks a scenario may need; the CLI has none of them. */
export type Hook = 'simulate_restart' | 'send_control';

export class ScenarioError extends Error {}

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root's sibling ../shared: read in place, never copied. */
export const REFERENCE_DIR = resolve(here, '../../../shared/reference/trails-conformance');
export const PROJECT_DIR = join(here, 'scenarios');

/** Every *.json of the directories, ordered so that a precondition runs before its dependants. */
export function loadScenarios(dirs: readonly string[]): Scenario[] {
  const all: Scenario[] = [];
  for (const dir of dirs) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    for (const f of files) all.push(parseScenario(join(dir, f), readFileSync(join(dir, f), 'utf8')));
  }
  return orderByPrecondition(all);
}

export function referenceScenariosPresent(): boolean {
  return existsSync(REFERENCE_DIR);
}

export function parseScenario(file: string, text: string): Scenario {
  const where = basename(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(`${where}: not JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw) || typeof raw.name !== 'string' || !Array.isArray(raw.steps)) {
    throw new ScenarioError(`${where}: a scenario needs "name" (string) and "steps" (array)`);
  }
  const steps = raw.steps.map((s, i) => validateStep(s, `${where} step ${i + 1}`));
  const scenario: Scenario = { name: raw.name, steps, file };
  if (typeof raw.description === 'string') scenario.description = raw.description;
  if (typeof raw.precondition === 'string') scenario.precondition = raw.precondition;
  return scenario;
}

/** Hooks this scenario needs, including those of its precondition chain. */
export function hooksNeeded(s: Scenario, byName: ReadonlyMap<string, Scenario>): Set<Hook> {
  const hooks = new Set<Hook>();
  for (let cur: Scenario | undefined = s; cur; cur = cur.precondition ? byName.get(cur.precondition) : undefined) {
    for (const step of cur.steps) {
      if (step.action !== 'server_action') continue;
      hooks.add(step.action_type === 'simulate_restart' ? 'simulate_restart' : 'send_control');
    }
  }
  return hooks;
}

function orderByPrecondition(list: Scenario[]): Scenario[] {
  const byName = new Map(list.map((s) => [s.name, s]));
  const out: Scenario[] = [];
  const placed = new Set<string>();
  const place = (s: Scenario, seen: Set<string>): void => {
    if (placed.has(s.name)) return;
    if (seen.has(s.name)) throw new ScenarioError(`precondition cycle through ${s.name}`);
    seen.add(s.name);
    const pre = s.precondition ? byName.get(s.precondition) : undefined;
    if (pre) place(pre, seen);
    placed.add(s.name);
    out.push(s);
  };
  for (const s of list) place(s, new Set());
  return out;
}

function validateStep(raw: unknown, where: string): Step {
  if (!isObject(raw) || typeof raw.action !== 'string') throw new ScenarioError(`${where}: a step needs "action"`);
  const need = (cond: boolean, what: string): void => {
    if (!cond) throw new ScenarioError(`${where} (${String(raw.action)}): ${what}`);
  };
  const checksOk = (c: unknown): boolean => Array.isArray(c) && c.every((x) => isObject(x) && typeof x.field === 'string');
  switch (raw.action) {
    case 'client_send':
      need(isObject(raw.message), '"message" must be an object');
      need(raw.repeat === undefined || (Number.isInteger(raw.repeat) && (raw.repeat as number) >= 1), '"repeat" must be a positive integer');
      need(raw.tamper === undefined || isObject(raw.tamper), '"tamper" must be an object of dotted path → value');
      break;
    case 'server_expect':
    case 'client_expect':
      need(checksOk(raw.checks ?? []), '"checks" must be an array of {field, …}');
      raw.checks ??= [];
      break;
    case 'db_check':
      need(typeof raw.query === 'string' && isObject(raw.expect), 'needs "query" (string) and "expect" (object)');
      break;
    case 'delay':
      need(typeof raw.seconds === 'number' && raw.seconds >= 0, '"seconds" must be a number >= 0');
      break;
    case 'setup':
      need(raw.app === undefined || typeof raw.app === 'string', '"app" must name a placeholder, e.g. "APP_ID_ERR"');
      break;
    case 'client_action':
      need(raw.action_type === 'drop_connection' || raw.action_type === 'new_connection', `unknown action_type ${JSON.stringify(raw.action_type)}`);
      need(raw.which === undefined || raw.which === 'current' || raw.which === 'previous', '"which" must be "current" or "previous"');
      break;
    case 'server_action':
      validateServerAction(raw, need, checksOk);
      break;
    default:
      throw new ScenarioError(`${where}: unknown action ${JSON.stringify(raw.action)}`);
  }
  return raw as unknown as Step;
}

function validateServerAction(raw: Record<string, unknown>, need: (c: boolean, w: string) => void, checksOk: (c: unknown) => boolean): void {
  switch (raw.action_type) {
    case 'simulate_restart':
      return;
    case 'send_control':
      need(typeof raw.app === 'string', '"app" must be the app id (a placeholder such as "{{APP_ID}}")');
      need(isObject(raw.control) && typeof raw.control.action === 'string', '"control" must be {action, payload?, ttl_seconds?}');
      return;
    case 'await_control':
      need(typeof raw.correlation_id === 'string' && checksOk(raw.checks), 'needs "correlation_id" and "checks"');
      return;
    default:
      need(false, `unknown action_type ${JSON.stringify(raw.action_type)}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
