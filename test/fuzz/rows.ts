/** Row counts of every table a client frame can write, to assert that a refused frame stored nothing. */
import type { GatewayStore } from '../../gateway/store/types.js';

export interface RowCounts {
  apps: number;
  messages: number;
  crashes: number;
  bootstrap: number;
}

export function rowCounts(store: GatewayStore): RowCounts {
  const apps = store.listApps();
  let messages = 0;
  for (const a of apps) messages += store.messages(a.app_id, { limit: 1_000_000 }).length;
  return { apps: apps.length, messages, crashes: store.crashes({ limit: 1_000_000 }).length, bootstrap: store.listBootstrapDevices().length };
}
