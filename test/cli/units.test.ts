/** The pure parts: the command line, id prefixes, tree filters, the tree picture, the wait state machine. */
import { describe, expect, it } from 'vitest';
import { seconds } from '../../cli/args.js';
import { filterTree, parseDepth, parseSince, type TreeFilter } from '../../cli/commands/tree-filter.js';
import { COMMANDS } from '../../cli/help.js';
import { isIdPrefix, resolvePrefix } from '../../cli/ids.js';
import { parseCommandLine } from '../../cli/program.js';
import { COMMAND_TABLE } from '../../cli/run.js';
import type { App } from '../../cli/api/types.js';
import { CliError } from '../../cli/errors.js';
import { appLine, progressOf } from '../../cli/render/app-line.js';
import { renderForest } from '../../cli/render/tree.js';
import { WaitState } from '../../cli/wait/state.js';

const app = (id: string, parent: string | null, name: string, status: App['status'], extra: Partial<App> = {}): App =>
  ({ app_id: id.padEnd(8, '0') + '-0000-4000-8000-000000000000', parent_id: parent && parent.padEnd(8, '0') + '-0000-4000-8000-000000000000', app_name: name, status, created_at: `2025-01-01T00:00:0${id.length}Z`, updated_at: '', metadata_json: null, executable: null, pod_name: null, node_name: null, pid: null, ...extra }) as App;

const table = COMMAND_TABLE;
const parse = (argv: string[]) => parseCommandLine(argv, table);
const usageOf = (argv: string[]): CliError => {
  try {
    parse(argv);
  } catch (e) {
    return e as CliError;
  }
  throw new Error(`${argv.join(' ')} parsed`);
};

describe('command line (commander)', () => {
  it('parses --k v, --k=v, flags, positionals anywhere, -- and negative numbers; global options before or after the command', () => {
    const r = parse(['--json', 'send', 'abcd1234', '--payload={"n":1}', '-5', '--timeout', '2', '--server', 'http://h:1']);
    expect(r).toMatchObject({ kind: 'run', command: { name: 'send' }, globals: { json: true, server: 'http://h:1' } });
    if (r.kind !== 'run') throw new Error('not run');
    expect(r.parsed).toEqual({ opts: { payload: '{"n":1}', timeout: '2' }, positionals: ['abcd1234', '-5'] });
    const w = parse(['wait', '--uuids', 'a,b', '--all', '--', '--z']);
    expect(w.kind === 'run' && w.parsed).toEqual({ opts: { uuid: undefined, uuids: 'a,b', parent: undefined, any: undefined, all: true, timeout: undefined, progress: undefined }, positionals: ['--z'] });
  });

  it('refuses unknown options and commands with a suggestion, missing values, repeats; all as usage errors naming the command', () => {
    expect(usageOf(['tree', '--actve'])).toMatchObject({ exitCode: 64, usage: 'tree', message: 'unknown option --actve; did you mean --active?' });
    expect(usageOf(['tree', '--sever', 'x'])).toMatchObject({ usage: 'tree', message: 'unknown option --sever; did you mean --server?' });
    expect(usageOf(['chld-info'])).toMatchObject({ exitCode: 64, usage: '', message: 'unknown command "chld-info"; did you mean child-info?' });
    expect(usageOf(['tree', '--uuid'])).toMatchObject({ usage: 'tree', message: '--uuid needs a value' });
    expect(usageOf(['cancel', '--grace', '1', '--grace', '2'])).toMatchObject({ usage: 'cancel', message: '--grace is given more than once' });
    expect(usageOf(['cancel', '--cascade=1']).exitCode).toBe(64);
    expect(usageOf(['tree', '-q']).exitCode).toBe(64);
    expect(usageOf([])).toMatchObject({ exitCode: 64, message: 'give a command' });
    expect(seconds('0.5', 't')).toBe(0.5);
    expect(() => seconds('0', 't')).toThrow(/above 0/);
    expect(seconds('0', 'g', undefined, { allowZero: true })).toBe(0);
  });

  it('generates help for the program and each command; every option a command parses has its text', () => {
    const viaHelp = parse(['help', 'cancel']);
    expect(viaHelp.kind === 'help' && viaHelp.text).toMatch(/^Usage: trails cancel /);
    const top = parse(['--help']);
    expect(top.kind === 'help' && top.text).toMatch(/^Usage: trails COMMAND \[options\][\s\S]*--json[\s\S]*"error"/);
    for (const [name, c] of Object.entries(table)) {
      const h = parse([name, '-h']);
      expect(h.kind === 'help' && h.text).toContain(`Usage: trails ${name} ${COMMANDS[name]!.synopsis}`);
      for (const opt of Object.keys(c.spec)) expect(COMMANDS[name]!.options[opt], `${name} --${opt}`).toBeDefined();
    }
  });
});

describe('app id prefixes', () => {
  const ids = ['8f3a1b2c-0000-4000-8000-000000000001', '8f3a9999-0000-4000-8000-000000000002', '12345678-0000-4000-8000-000000000003'];
  const listing = async () => ids.map((id, i) => app(id.slice(0, 8), null, `app${i}`, 'running', { app_id: id }));

  it('a unique prefix names its app; several list the matches (64); none is a failure (1)', async () => {
    expect(isIdPrefix('8f3a')).toBe(true);
    expect(isIdPrefix('8f3a1b2c-00')).toBe(true);
    expect(isIdPrefix('8f3')).toBe(false);
    expect(isIdPrefix(ids[0]!)).toBe(false);
    expect(isIdPrefix('nope')).toBe(false);
    expect(await resolvePrefix('8F3A1', '--uuid', listing)).toBe(ids[0]);
    await expect(resolvePrefix('8f3a', '--uuid', listing)).rejects.toMatchObject({
      exitCode: 64,
      code: 'ambiguous_id',
      message: `--uuid 8f3a fits 2 apps; give more of the id:\n  ${ids[0]}  app0 [running]\n  ${ids[1]}  app1 [running]`,
    });
    await expect(resolvePrefix('abcd', 'UUID', listing)).rejects.toMatchObject({ exitCode: 1, code: 'not_found' });
  });
});

describe('tree filters', () => {
  const t0 = Date.parse('2026-01-01T12:00:00Z');
  const at = (min: number) => new Date(t0 - min * 60_000).toISOString();
  const apps = [
    app('1', null, 'root', 'done', { updated_at: at(600) }),
    app('12', '1', 'mid', 'done', { updated_at: at(300) }),
    app('123', '12', 'leaf', 'running', { updated_at: at(1) }),
    app('14', '1', 'old', 'crashed', { updated_at: at(900) }),
    app('5', null, 'gone', 'done', { updated_at: at(2000) }),
  ];
  const names = (f: TreeFilter, roots?: string[]) => filterTree(apps, f, roots).map((a) => a.app_name);

  it('--active keeps live apps and the apps above them; --since likewise by update time; --depth cuts levels', () => {
    expect(names({ active: true })).toEqual(['root', 'mid', 'leaf']);
    expect(names({ active: false, sinceMs: parseSince('10m', t0, 'tree') })).toEqual(['root', 'mid', 'leaf']);
    expect(names({ active: false, sinceMs: parseSince('2025-12-31T06:00:00Z', t0, 'tree') })).toEqual(['root', 'mid', 'leaf', 'old']);
    expect(names({ active: false, depth: 1 })).toEqual(['root', 'mid', 'old', 'gone']);
    expect(names({ active: false, depth: 0 })).toEqual(['root', 'gone']);
    // Under --uuid the root stays even when it has ended.
    expect(filterTree([apps[3]!], { active: true }, [apps[3]!.app_id]).map((a) => a.app_name)).toEqual(['old']);
  });

  it('bad --since and --depth are usage errors', () => {
    for (const bad of ['10', 'yesterday', '5y', '2026-13-45', '']) expect(() => parseSince(bad, t0, 'tree')).toThrow(/--since must be/);
    for (const bad of ['-1', '1.5', 'deep']) expect(() => parseDepth(bad, 'tree')).toThrow(/--depth must be/);
  });
});

describe('tree picture', () => {
  it('draws branches, continuation bars, progress, scheduled and done marks', () => {
    const py = { executable: '/usr/bin/python', pod_name: 'airflow-pod-x', pid: 12345 };
    const apps = [
      app('55', null, 'daily-etl', 'done', py),
      app('661', '55', 'extract', 'done', py),
      app('7722', '55', 'load', 'running', py),
      app('88333', '7722', 'spark-job', 'running', { executable: 'java', pod_name: 'k8s', pid: null }),
      app('994444', '55', 'notify', 'scheduled'),
    ];
    expect(renderForest(apps, new Map([[apps[2]!.app_id, 75]]))).toEqual([
      'daily-etl (55000000) [done ✓] python@airflow-pod-x:12345',
      '├── extract (66100000) [done ✓] python@airflow-pod-x:12345',
      '├── load (77220000) [running ▶ 75%] python@airflow-pod-x:12345',
      '│   └── spark-job (88333000) [running] java@k8s',
      '└── notify (99444400) [scheduled ⏳] — not started',
    ]);
  });

  it('reads progress as a fraction or a percentage; marks force-killed nodes', () => {
    expect(progressOf({ progress: 0.5 })).toBe(50);
    expect(progressOf({ progress: 42 })).toBe(42);
    expect(progressOf({ progress: 'half' })).toBeUndefined();
    expect(progressOf([1])).toBeUndefined();
    expect(appLine(app('1', null, 'x', 'cancelled', { metadata_json: { force_killed: true } }))).toBe('x (10000000) [cancelled ⊘ (force-killed)]');
  });
});

describe('wait state', () => {
  const A = 'aaaaaaaa-0000-4000-8000-000000000000';
  const P = 'pppppppp-0000-4000-8000-000000000000';
  const snap = (id: string, parent: string | null, status: App['status']) => ({ type: 'snapshot' as const, app: app(id.slice(0, 8), parent && parent.slice(0, 8), id[0]!, status) });

  it('a named app ends on the terminal message (which carries crash_type), lost_contact on its event', () => {
    const s = new WaitState({ kind: 'ids', ids: [A] }, 'any');
    s.apply(snap(A, null, 'running'));
    s.apply({ type: 'event', event: { type: 'app_status', app_id: A, parent_id: null, namespace: null, at: '', status: 'crashed' } });
    expect(s.verdict().done).toBe(false);
    s.apply({ type: 'terminal', app_id: A, status: 'crashed', crash_type: 'heartbeat_timeout' });
    expect(s.verdict()).toEqual({ done: true, exitCode: 2, outcomes: [{ app_id: A, app_name: 'a', status: 'crashed', exit_code: 2, crash_type: 'heartbeat_timeout' }] });

    const l = new WaitState({ kind: 'ids', ids: [A] }, 'any');
    l.apply(snap(A, null, 'reconnecting'));
    l.apply({ type: 'event', event: { type: 'app_status', app_id: A, parent_id: null, namespace: null, at: '', status: 'lost_contact' } });
    expect(l.verdict()).toMatchObject({ done: true, exitCode: 2 });
  });

  it('--parent --all counts children declared while waiting, not grandchildren', () => {
    const C1 = 'c1c1c1c1-0000-4000-8000-000000000000';
    const C2 = 'c2c2c2c2-0000-4000-8000-000000000000';
    const G = 'gggggggg-0000-4000-8000-000000000000';
    const s = new WaitState({ kind: 'parent', parentId: P }, 'all');
    s.apply({ type: 'caught_up', apps: 0 });
    s.apply({ type: 'events', events: [
      { type: 'app_status', app_id: C1, parent_id: P, namespace: null, at: '', status: 'scheduled' },
      { type: 'app_status', app_id: G, parent_id: C1, namespace: null, at: '', status: 'connected' },
      { type: 'message', app_id: C1, parent_id: P, namespace: null, at: '', msg_type: 'Result', seq: 1, payload: { ok: 1 } },
      { type: 'app_status', app_id: C1, parent_id: P, namespace: null, at: '', status: 'done' },
      { type: 'app_status', app_id: C2, parent_id: P, namespace: null, at: '', status: 'scheduled' },
    ] });
    expect(s.verdict().done).toBe(false);
    expect([...s.tracks.keys()]).toEqual([C1, C2]);
    s.apply({ type: 'event', event: { type: 'app_status', app_id: C2, parent_id: P, namespace: null, at: '', status: 'cancelled' } });
    expect(s.verdict()).toMatchObject({ done: true, exitCode: 4, outcomes: [{ app_id: C1, result: { ok: 1 } }, { app_id: C2, status: 'cancelled' }] });
  });
});
