/**
 * App lifecycle (spec §7, §19). Pure rules the hub consults before it writes a
 * status: which statuses a register or re_register may resume from, and where
 * a message or a disconnect leads.
 */
import type { MsgType } from '../../protocol/frames.js';
import type { AppStatus } from '../store/types.js';
import { TERMINAL_STATUSES } from '../store/types.js';

export const isTerminal = (s: AppStatus): boolean => TERMINAL_STATUSES.includes(s);

/**
 * re_register brings an app back from these. Unlike the reference we accept
 * `crashed`: a plain network drop makes an app crashed, and it should be able
 * to come back. connected/running are here because a half-open old socket may
 * not have been noticed yet when the device reconnects.
 */
export const RESUMABLE: readonly AppStatus[] = ['connected', 'running', 'reconnecting', 'lost_contact', 'crashed'];

/** Over for good: terminal and not resumable (crashed apps may still come back). */
export function isFinal(s: AppStatus): boolean {
  return isTerminal(s) && !RESUMABLE.includes(s);
}

export function canResume(s: AppStatus): boolean {
  return RESUMABLE.includes(s);
}

export function statusAfterMessage(current: AppStatus, msgType: MsgType): AppStatus {
  // A cancel the device accepted is final: what it still reports is stored,
  // but does not turn the app into done or error.
  if (current === 'cancelled') return current;
  if (msgType === 'Result') return 'done';
  if (msgType === 'Error') return 'error';
  return current === 'connected' ? 'running' : current;
}

/** disconnect reasons, as the reference maps them. */
export function statusAfterDisconnect(reason: string | null | undefined): AppStatus {
  return reason === 'error' || reason === 'failed' ? 'error' : 'done';
}
