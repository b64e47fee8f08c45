/**
 * Entry of a generator process: hosts one Fleet and answers the pool's calls
 * over IPC ({ id, method, args } → { id, result } or { id, error }). Exits
 * when the parent goes away, so a crashed bench leaves no generator behind.
 */
import { Fleet, type FleetConfig } from './fleet.js';
import type { FleetMethod } from './pool.js';

let fleet: Fleet | undefined;

interface Call {
  id: number;
  method: FleetMethod | 'init';
  args: unknown[];
}

process.on('message', (msg: Call) => {
  void (async () => {
    try {
      let result: unknown;
      if (msg.method === 'init') fleet = new Fleet(msg.args[0] as FleetConfig);
      else {
        if (!fleet) throw new Error('fleet not initialised');
        const fn = fleet[msg.method] as (...a: unknown[]) => unknown;
        result = await fn.apply(fleet, msg.args);
      }
      process.send!({ id: msg.id, result });
    } catch (e) {
      process.send!({ id: msg.id, error: (e as Error).stack ?? String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
