/**
 * What the register frame says about the process (spec §6): enough for an
 * operator to find it. The Kubernetes fields come from the downward API
 * variables a pod spec usually sets; elsewhere they stay null.
 */
import { hostname } from 'node:os';
import type { ProcessInfo } from '../protocol/frames.js';

export function currentProcessInfo(env: NodeJS.ProcessEnv = process.env): ProcessInfo {
  return {
    pid: process.pid,
    ppid: process.ppid,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    gid: typeof process.getgid === 'function' ? process.getgid() : null,
    hostname: hostname(),
    node_name: env.NODE_NAME ?? null,
    pod_ip: env.POD_IP ?? null,
    namespace: env.POD_NAMESPACE ?? null,
    start_time: Math.round(Date.now() - process.uptime() * 1000),
    // The script is what identifies a Node app; the node binary says little.
    executable: process.argv[1] ?? process.execPath,
  };
}
