/** The pure parts: argument parsing, the tree picture, the wait state machine. */
import { describe, expect, it } from 'vitest';
import { parseArgs, seconds } from '../../cli/args.js';
import type { App } from '../../cli/api/types.js';
import { CliError } from '../../cli/errors.js';
import { appLine, progressOf } from '../../cli/render/app-line.js';
import { renderForest } from '../../cli/render/tree.js';
import { WaitState } from '../../cli/wait/state.js';

const app = (id: string, parent: string | null, name: string, status: App['status'], extra: Partial<App> = {}): App =>
  ({ app_id: id.padEnd(8, '0') + '-0000-4000-8000-000000000000', parent_id: parent && parent.padEnd(8, '0') + '-0000-4000-8000-000000000000', app_name: name, status, created_at: `2025-01-01T00:00:0${id.length}Z`, updated_at: '', metadata_json: null, executable: null, pod_name: null, node_name: null, pid: null, ...extra }) as App;

describe('args', () => {
  it('parses --k v, --k=v, flags, positionals anywhere, -- and negative numbers', () => {
    const p = parseArgs(['a', '--x', '1', '--y=2', '--f', '-5', '--', '--z'], { x: 'string', y: 'string', f: 'boolean' });
    expect(p).toEqual({ opts: { x: '1', y: '2', f: true }, positionals: ['a', '-5', '--z'] });
  });

  it('refuses unknown options, missing values, repeats, values on flags', () => {
    for (const argv of [['--nope'], ['--x'], ['--x', '1', '--x', '2'], ['--f=1'], ['-q']]) {
      expect(() => parseArgs(argv, { x: 'string', f: 'boolean' })).toThrow(CliError);
    }
    expect(seconds('0.5', 't')).toBe(0.5);
    expect(() => seconds('0', 't')).toThrow(/above 0/);
    expect(seconds('0', 'g', undefined, { allowZero: true })).toBe(0);
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
