/**
 * One device connection as the hub sees it. The ws adapter implements it over
 * a real socket; tests implement it in memory.
 */
import type { ServerFrame } from '../../protocol/frames.js';

export interface Connection {
  readonly id: number;
  /** Remote address, for logs, audit and per-address limits. */
  readonly remote: string;
  /** True when the socket is TLS (wss://): required by the `full` tier. */
  readonly secure: boolean;
  /** The `join` query parameter of the upgrade URL: the registration gate's token (join-gate.ts). */
  readonly joinToken?: string;
  send(frame: ServerFrame): void;
  /** A binary frame: the encrypted tier's sealed frames. */
  sendBinary(data: Uint8Array): void;
  close(code: number, reason: string): void;
}
