/**
 * A small typed event emitter. Not node:events, on purpose: EventEmitter
 * throws when 'error' is emitted with no listener, and the client promises
 * never to throw into its host. A listener that throws is isolated.
 */
import type { ErrorCode, JsonValue, SecLevel } from '../protocol/frames.js';
import type { MsgType } from '../protocol/frames.js';

export type ClientState =
  /** A no-op client (no TRAILS_INFO): nothing ever happens. */
  | 'inactive'
  /** Waiting for a socket (connecting, or backing off before the next try). */
  | 'connecting'
  /** Socket open, register/re_register sent, no answer yet. */
  | 'registering'
  /** Registered on an open socket: messages flow. */
  | 'ready'
  /** The app ended: Result/Error acked, disconnect sent, cancelled, or the gateway says it is terminal. */
  | 'finished'
  /** The gateway refused the identity for good (key owned by another, tier refused, ...). */
  | 'failed';

export interface ClientEvents {
  registered: { appId: string; serverPubKey: string; lastSeq: number; secLevel: SecLevel; resumed: boolean };
  ack: { appId: string; seq: number; msgType: MsgType | null; duplicate: boolean };
  /** An error frame from the gateway about this app (or about the shared connection). */
  error: { appId: string; code: ErrorCode; message: string; seq?: number; correlationId?: string };
  /** A control frame was handled: answered, or ignored (bad signature, replay). */
  control: {
    appId: string;
    action: string;
    correlationId: string;
    payload: JsonValue;
    outcome: 'answered' | 'unknown_action' | 'failed' | 'ignored';
    result?: JsonValue;
    error?: string;
  };
  /** The socket this app was on closed (the client reconnects unless the app has ended). */
  disconnected: { appId: string; code: number; reason: string };
  state: { appId: string; state: ClientState; previous: ClientState };
  /** A message left the outbox without an ack (outbox full, too large, refused by the gateway, app ended). */
  dropped: { appId: string; seq: number | null; msgType: MsgType; reason: string };
}

type Listener<T> = (event: T) => void;

export class TypedEmitter<M extends object> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  on<K extends keyof M>(name: K, fn: Listener<M[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(name, fn);
  }

  once<K extends keyof M>(name: K, fn: Listener<M[K]>): () => void {
    const off = this.on(name, (e) => {
      off();
      fn(e);
    });
    return off;
  }

  off<K extends keyof M>(name: K, fn: Listener<M[K]>): void {
    this.listeners.get(name)?.delete(fn as Listener<never>);
  }

  /** Resolves with the next event of this name that matches `pred`; rejects after `timeoutMs`. */
  next<K extends keyof M>(name: K, pred: (e: M[K]) => boolean = () => true, timeoutMs = 10_000): Promise<M[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for "${String(name)}"`));
      }, timeoutMs);
      const off = this.on(name, (e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  emit<K extends keyof M>(name: K, event: M[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<M[K]>)(event);
      } catch {
        /* a failing listener must not break the protocol state machine */
      }
    }
  }

  listenerCount(name: keyof M): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}
