/**
 * Entry of a spawned session agent (see session-agent.ts). Reads its spec
 * from the IPC channel, registers, reports ready, then serves until the app
 * ends, or until the shell that registered it is gone.
 */
import { consoleLogger, type TrailsLogger } from '../../client/log.js';
import type { AgentSpec } from './protocol.js';
import { SessionAgent } from './session-agent.js';

const OWNER_CHECK_MS = 1_000;
/** Without a shell to follow, an agent whose app has ended answers for this long, then goes. */
const ORPHAN_AFTER_END_MS = 10 * 60_000;

const logger: TrailsLogger = {
  ...consoleLogger,
  info: (msg, extra) => console.error(`${new Date().toISOString()} ${msg}`, ...(extra ? [JSON.stringify(extra)] : [])),
};

function ownerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(spec: AgentSpec): Promise<void> {
  const agent = new SessionAgent(spec, { logger });
  let lastSeq: number;
  try {
    ({ lastSeq } = await agent.start());
  } catch (err) {
    process.send?.({ type: 'failed', message: (err as Error).message });
    process.exit(1);
  }
  process.send?.({ type: 'ready', lastSeq });
  if (spec.ownerPid !== null) {
    const owner = spec.ownerPid;
    const timer = setInterval(() => {
      if (!ownerAlive(owner)) void agent.stop(`the shell (pid ${owner}) is gone without trails shutdown`);
    }, OWNER_CHECK_MS);
    timer.unref();
  }
  if (spec.ownerPid === null) void agent.ended.then(() => setTimeout(() => void agent.stop('app ended; no shell to follow'), ORPHAN_AFTER_END_MS).unref());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void agent.stop(`${sig}`));
  const why = await agent.stopped;
  logger.info(`exiting: ${why}`);
  // Let the log line and any last socket write out, then go.
  setTimeout(() => process.exit(0), 50);
}

process.once('message', (m: { type?: string; spec?: AgentSpec }) => {
  if (m.type === 'start' && m.spec) void main(m.spec);
});
process.on('disconnect', () => {
  /* the launcher let go after "ready": keep serving */
});
