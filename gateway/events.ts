/**
 * The gateway's internal event bus (spec §20): the device hub publishes, the
 * watch stream, metrics and later the uplink subscribe. A failing listener is
 * logged and isolated, never allowed to break ingest (as zigbee2mqtt wraps
 * its extensions).
 */
import type { JsonValue, MsgType } from '../protocol/frames.js';
import type { AppStatus, ControlStatus, CrashType } from './store/types.js';

interface AppRef {
  app_id: string;
  parent_id: string | null;
  namespace: string | null;
  at: string;
}

export type GatewayEvent =
  | (AppRef & { type: 'app_status'; status: AppStatus })
  | (AppRef & { type: 'message'; msg_type: MsgType; seq: number; payload: JsonValue })
  | (AppRef & { type: 'crash'; crash_type: CrashType })
  | (AppRef & { type: 'control'; correlation_id: string; action: string; status: ControlStatus; result?: JsonValue })
  /**
   * Something an operator should look at (docs/PROTOCOL.md "Bootstrap and device
   * lifecycle"): key_mismatch is a device presenting a key its MAC or app is not
   * pinned to. app_id is the claimed app, or '' for a device not claimed yet.
   */
  | (AppRef & { type: 'alert'; kind: 'key_mismatch'; mac: string | null; presented_key: string; pinned_key: string; remote: string | null });

export type Listener = (e: GatewayEvent) => void;

export class EventBus {
  private listeners = new Set<Listener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: GatewayEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** 0 when nobody listens: a publisher may then skip building the event. */
  get size(): number {
    return this.listeners.size;
  }
}
