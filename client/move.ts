/**
 * The bound on a move to another gateway (migrate, or a provision with a new
 * serverEp): how long a device tries to register there before it goes back.
 * Bounded both ways, so an unreachable endpoint, one that refuses the app,
 * and one that never answers all end in a decision.
 */
import type { TrailsClient } from './client.js';

export interface MoveBounds {
  /** Lost sockets before giving up (default 3). */
  attempts?: number;
  /** Time before giving up (default 15 s). */
  timeoutMs?: number;
}

/** 'ok' once the client registered; otherwise why not. */
export function waitRegistered(client: TrailsClient, bounds: MoveBounds = {}): Promise<string> {
  const attempts = bounds.attempts ?? 3;
  const timeoutMs = bounds.timeoutMs ?? 15_000;
  return new Promise((resolve) => {
    let lost = 0;
    const offs: Array<() => void> = [];
    const done = (why: string): void => {
      clearTimeout(timer);
      offs.forEach((off) => off());
      resolve(why);
    };
    const timer = setTimeout(() => done(`no registration within ${timeoutMs} ms`), timeoutMs);
    timer.unref?.();
    offs.push(client.events.on('registered', () => done('ok')));
    offs.push(client.events.on('disconnected', () => ++lost >= attempts && done(`${lost} connection attempts failed`)));
    offs.push(client.events.on('state', (e) => e.state === 'failed' && done('registration refused')));
  });
}
