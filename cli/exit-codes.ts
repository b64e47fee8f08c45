/**
 * Exit codes. `trails wait` uses those of spec §14 for the app's outcome;
 * every other failure of a command is 1, and a command line that cannot be
 * understood is 64 (EX_USAGE), so a script can tell them apart.
 */
import type { AppStatus } from '../protocol/api/resources.js';

export const EXIT = {
  ok: 0,
  failed: 1,
  crashed: 2,
  timeout: 3,
  cancelled: 4,
  usage: 64,
} as const;

/** Statuses that end a wait: the terminal ones, and lost_contact (the gateway gave up on the device). */
export const WAIT_ENDS: readonly AppStatus[] = ['done', 'error', 'crashed', 'cancelled', 'start_failed', 'lost_contact'];

export function exitCodeFor(status: AppStatus): number {
  switch (status) {
    case 'done':
      return EXIT.ok;
    case 'error':
      return EXIT.failed;
    case 'cancelled':
      return EXIT.cancelled;
    case 'crashed':
    case 'lost_contact':
    case 'start_failed':
      return EXIT.crashed;
    default:
      return EXIT.failed;
  }
}
