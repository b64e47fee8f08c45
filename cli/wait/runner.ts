/**
 * Runs a wait over the watch WebSocket (never polling, spec §14): one watch
 * per named app, or one for a parent's subtree. Each watch starts with a
 * catch-up from the store (an app already ended ends the wait at once), then
 * live events. A watch that drops (gateway restart) is opened again, and its
 * catch-up says what happened meanwhile.
 */
import type { ApiClient, WatchConnection, WatchFilter } from '../api/types.js';
import { ApiFailure, CliError } from '../errors.js';
import { WaitState, type Mode, type Note, type Scope, type Track, type Outcome } from './state.js';

export type WaitEnd = { kind: 'done'; outcomes: Outcome[]; exitCode: number } | { kind: 'timeout'; pending: Track[] };

export interface WaitPlan {
  scope: Scope;
  mode: Mode;
  timeoutMs?: number;
  onNote?: (n: Note) => void;
  /** Delay before a dropped watch is opened again (default 500 ms, doubling to 5 s). */
  retryMs?: number;
}

export function runWait(api: ApiClient, plan: WaitPlan): Promise<WaitEnd> {
  return new Promise<WaitEnd>((resolve, reject) => {
    const state = new WaitState(plan.scope, plan.mode, plan.onNote);
    const conns = new Set<WatchConnection>();
    const timers = new Set<NodeJS.Timeout>();
    let over = false;
    const end = (fn: () => void): void => {
      if (over) return;
      over = true;
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.close();
      fn();
    };
    if (plan.timeoutMs !== undefined) timers.add(setTimeout(() => end(() => resolve({ kind: 'timeout', pending: state.pending() })), plan.timeoutMs));

    const check = (): void => {
      const v = state.verdict();
      if (v.done) end(() => resolve({ kind: 'done', outcomes: v.outcomes, exitCode: v.exitCode }));
    };

    const open = (filter: WatchFilter, attempt: number, initial: boolean): void => {
      let caughtUp = false;
      api
        .watch(filter, (m) => {
          if (over) return;
          state.apply(m);
          if (m.type === 'caught_up') {
            caughtUp = true;
            if (plan.scope.kind === 'parent' && state.tracks.size === 0) {
              return end(() => reject(new CliError(`app ${(plan.scope as { parentId: string }).parentId} has no children to wait for`)));
            }
          }
          check();
        })
        .then(
          (conn) => {
            if (over) return conn.close();
            conns.add(conn);
            void conn.closed.then(() => {
              conns.delete(conn);
              if (over) return;
              // Dropped before the end: open it again (a watch that had caught up starts the backoff afresh).
              const next = caughtUp ? 0 : attempt + 1;
              const t = setTimeout(() => (timers.delete(t), open(filter, next, false)), Math.min(5_000, (plan.retryMs ?? 500) * 2 ** Math.min(next, 4)));
              timers.add(t);
            });
          },
          (err: unknown) => {
            if (over) return;
            // A refusal (no such app, not allowed, bad filter) is final; so is a gateway unreachable at the start.
            if (err instanceof ApiFailure || initial || !(err instanceof CliError)) return end(() => reject(err));
            const t = setTimeout(() => (timers.delete(t), open(filter, attempt + 1, false)), Math.min(5_000, (plan.retryMs ?? 500) * 2 ** Math.min(attempt, 4)));
            timers.add(t);
          },
        );
    };

    if (plan.scope.kind === 'ids') for (const id of plan.scope.ids) open({ app_id: id }, 0, true);
    else open({ parent_id: plan.scope.parentId }, 0, true);
  });
}
