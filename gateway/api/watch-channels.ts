/**
 * Watch filters and channels. Watchers with the same filter share a channel:
 * an event is matched and serialised once per channel, and one frame per
 * event-loop turn is built per channel and sent to all its watchers, so a
 * hundred watchers of one subtree cost little more than one.
 */
import { isTerminal } from '../core/lifecycle.js';
import type { GatewayEvent } from '../events.js';
import { isUuid } from '../../protocol/parse.js';
import type { AppRow, StoreReader } from '../store/types.js';

export interface WatchFilter {
  app_id?: string;
  parent_id?: string;
  namespace?: string;
}

const KEYS = new Set(['app_id', 'parent_id', 'namespace']);

export function parseWatchFilter(url: string): { ok: true; filter: WatchFilter } | { ok: false; message: string } {
  const params = new URL(url, 'http://gateway').searchParams;
  const filter: WatchFilter = {};
  for (const key of new Set(params.keys())) {
    if (!KEYS.has(key)) return { ok: false, message: `unknown filter "${key}"; use app_id, parent_id or namespace` };
    const values = params.getAll(key);
    if (values.length > 1) return { ok: false, message: `filter "${key}" is given more than once` };
    const v = values[0]!;
    if (key !== 'namespace' && !isUuid(v)) return { ok: false, message: `${key} must be a UUID, not "${String(v).slice(0, 64)}"` };
    if (key === 'namespace' && (v.length === 0 || v.length > 256)) return { ok: false, message: 'namespace must be 1 to 256 characters' };
    filter[key as keyof WatchFilter] = key === 'namespace' ? v : v.toLowerCase();
  }
  if (filter.app_id && filter.parent_id) return { ok: false, message: 'give app_id or parent_id, not both' };
  return { ok: true, filter };
}

export function filterKey(f: WatchFilter): string {
  return JSON.stringify([f.app_id ?? null, f.parent_id ?? null, f.namespace ?? null]);
}

/** The apps a new watcher is told about first, in the store's order. */
export function catchUpRows(store: Pick<StoreReader, 'getApp' | 'children' | 'listApps'>, f: WatchFilter): AppRow[] {
  let rows: AppRow[];
  if (f.app_id) rows = [store.getApp(f.app_id)].filter((r): r is AppRow => r !== undefined);
  else if (f.parent_id) rows = store.children(f.parent_id, true);
  else rows = store.listApps(f.namespace ? { namespace: f.namespace } : {});
  return f.namespace ? rows.filter((r) => r.namespace === f.namespace) : rows;
}

export interface Watcher {
  readonly ws: { readyState: number; bufferedAmount: number; send(data: Buffer, opts: { binary: boolean }): void; close(code: number, reason: string): void; terminate(): void };
  /** Pending events before this index predate the watcher's catch-up. */
  from: number;
}

/** A channel's catch-up, serialised: valid while no event has touched the channel since. */
export interface CatchUp {
  version: number;
  /** Encoded once, sent as text frames to every watcher that joins. */
  messages: Buffer[];
  /** Set for an app_id channel whose app is already terminal. */
  terminal?: Buffer;
}

export class Channel {
  readonly watchers = new Set<Watcher>();
  /** Events since the last flush; null where a newer Status of the same app superseded one. */
  pending: Array<QueuedEvent | null> = [];
  /** Where each app's Status waits in `pending`, so a newer one can supersede it. */
  private statusAt = new Map<string, number>();
  /** Counts the events that concerned the channel; a cached catch-up of an older version is stale. */
  version = 0;
  catchUp?: CatchUp;
  /** For app_id channels: the app went terminal; flush sends the terminal message and closes. */
  closing = false;
  /** For parent_id channels: every descendant seen so far. */
  private readonly subtree?: Set<string>;

  constructor(
    readonly key: string,
    readonly filter: WatchFilter,
    store: Pick<StoreReader, 'children'>,
  ) {
    if (filter.parent_id) this.subtree = new Set(store.children(filter.parent_id, true).map((r) => r.app_id));
  }

  /**
   * Whether the event concerns an app this channel covers, namespace aside;
   * also grows the subtree (an app that registers or is declared under a
   * member joins it). Such an event makes a cached catch-up stale.
   */
  covers(e: GatewayEvent): boolean {
    if (this.subtree) {
      const root = this.filter.parent_id!;
      if (e.type === 'app_status' && e.parent_id !== null && e.app_id !== root && (e.parent_id === root || this.subtree.has(e.parent_id))) {
        this.subtree.add(e.app_id);
      }
      return this.subtree.has(e.app_id);
    }
    return !this.filter.app_id || e.app_id === this.filter.app_id;
  }

  inNamespace(e: GatewayEvent): boolean {
    return !this.filter.namespace || e.namespace === this.filter.namespace;
  }

  matches(e: GatewayEvent): boolean {
    return this.covers(e) && this.inNamespace(e);
  }

  /**
   * Queues the event for the next frame. On a subtree, namespace or global
   * watch a Status is a snapshot, so one that is still waiting is dropped for
   * the newer one, which goes to the end (the order of an app's events is
   * kept). Every other event is kept.
   */
  push(q: QueuedEvent): void {
    const e = q.event;
    // An app_id watch (`trails wait --progress`) follows one app: it gets every Status.
    if (!this.filter.app_id && isStatus(e)) {
      const before = this.statusAt.get(e.app_id);
      if (before !== undefined) this.pending[before] = null;
      this.statusAt.set(e.app_id, this.pending.length);
    }
    this.pending.push(q);
    if (this.filter.app_id && e.type === 'app_status' && isTerminal(e.status)) this.closing = true;
  }

  /** The JSON of the events still queued from `from` on, each serialised once for every channel it is in. */
  texts(from = 0): string[] {
    const out: string[] = [];
    for (let i = from; i < this.pending.length; i++) {
      const q = this.pending[i];
      if (q) out.push((q.text ??= JSON.stringify(q.event)));
    }
    return out;
  }

  /** After a flush. */
  clear(): void {
    this.pending = [];
    this.statusAt.clear();
  }
}

/** A Status message event: the only kind a newer one of the same app supersedes. */
export function isStatus(e: GatewayEvent): boolean {
  return e.type === 'message' && e.msg_type === 'Status';
}

/**
 * An event on its way to the channels that want it. It is serialised when a
 * frame is built, once, and only if it survives until then: most Status
 * events of a busy subtree are superseded first.
 */
export interface QueuedEvent {
  readonly event: GatewayEvent;
  text?: string;
}

/** One WebSocket message for a run of events: a single event as is, several as a batch. */
export function eventFrame(events: readonly string[]): Buffer | undefined {
  if (events.length === 0) return undefined;
  if (events.length === 1) return Buffer.from(`{"type":"event","event":${events[0]}}`);
  return Buffer.from(`{"type":"events","events":[${events.join(',')}]}`);
}
