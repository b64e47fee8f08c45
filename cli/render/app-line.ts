/**
 * One app as a line, the way spec §25 draws it:
 *
 *   load (883b1733) [running ▶ 75%] python@airflow-pod-x:12345
 *   notify (cc7f5b77) [scheduled ⏳] — not started
 */
import type { JsonValue } from '../../protocol/frames.js';
import type { App } from '../api/types.js';

const MARK: Record<string, string> = {
  scheduled: '⏳',
  done: '✓',
  error: '✗',
  crashed: '✗',
  start_failed: '✗',
  cancelled: '⊘',
  reconnecting: '↻',
  lost_contact: '?',
};

export const shortId = (id: string): string => id.slice(0, 8);

/** A progress fraction (0…1) or percentage (1…100) from a Status payload, as a whole percent. */
export function progressOf(snapshot: JsonValue | undefined): number | undefined {
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) return undefined;
  const p = snapshot.progress;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) return undefined;
  return Math.round(p <= 1 ? p * 100 : Math.min(p, 100));
}

export function statusLabel(app: Pick<App, 'status' | 'metadata_json'>, progress?: number): string {
  const live = app.status === 'running' || app.status === 'connected';
  if (live && progress !== undefined) return `${app.status} ▶ ${progress}%`;
  const meta = app.metadata_json;
  const forced = meta !== null && typeof meta === 'object' && !Array.isArray(meta) && meta.force_killed === true;
  const mark = MARK[app.status];
  return `${app.status}${mark ? ` ${mark}` : ''}${forced ? ' (force-killed)' : ''}`;
}

/** exe@host:pid, from what the app's register frame said about its process. */
export function whereOf(app: Pick<App, 'executable' | 'pod_name' | 'node_name' | 'pid'>): string {
  const exe = app.executable ? (app.executable.split(/[\\/]/).pop() ?? app.executable) : '';
  const host = app.pod_name ?? app.node_name ?? '';
  const pid = app.pid ?? null;
  if (!exe && !host && pid === null) return '';
  return `${exe || '?'}@${host || '?'}${pid !== null ? `:${pid}` : ''}`;
}

export function appLine(app: App, progress?: number): string {
  const head = `${app.app_name} (${shortId(app.app_id)}) [${statusLabel(app, progress)}]`;
  if (app.status === 'scheduled') return `${head} — not started`;
  const where = whereOf(app);
  return where ? `${head} ${where}` : head;
}
