/**
 * The messages of the watch stream other than live events (docs/API.md
 * "Watch"): a snapshot per app at catch-up, and the terminal message that
 * `trails wait` ends on.
 */
import type { JsonValue } from '../../protocol/frames.js';
import type { AppRow, AppStatus, StoreReader } from '../store/types.js';

type Reader = Pick<StoreReader, 'latestSnapshot' | 'messages' | 'crashes'>;

/** The app as the REST API shows it: the row without the gateway's replay bookkeeping. */
export function appView(row: AppRow): Omit<AppRow, 'last_auth_ts'> {
  const { last_auth_ts: _internal, ...view } = row;
  return view;
}

export function snapshotMessage(store: Reader, row: AppRow): object {
  const snap = store.latestSnapshot(row.app_id);
  return {
    type: 'snapshot',
    app: appView(row),
    ...(snap ? { latest_snapshot: { seq: snap.seq, snapshot_json: snap.snapshot_json, created_at: snap.created_at } } : {}),
    ...outcomeOf(store, row.app_id, row.status),
  };
}

export function terminalMessage(store: Reader, appId: string, status: AppStatus): object {
  return { type: 'terminal', app_id: appId, status, ...outcomeOf(store, appId, status) };
}

/** What an ended app left: its Result, its Error, or the crash that ended it. */
function outcomeOf(store: Reader, appId: string, status: AppStatus): { result?: JsonValue; error?: JsonValue; crash_type?: string } {
  if (status === 'done') {
    const last = store.messages(appId, { msg_type: 'Result' }).at(-1);
    return last ? { result: last.payload_json } : {};
  }
  if (status === 'error') {
    const last = store.messages(appId, { msg_type: 'Error' }).at(-1);
    return last ? { error: last.payload_json } : {};
  }
  if (status === 'crashed' || status === 'start_failed') {
    const crash = store.crashes({ app_id: appId, limit: 1 })[0];
    return crash ? { crash_type: crash.crash_type } : {};
  }
  return {};
}
