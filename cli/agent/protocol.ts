/**
 * The session agent's local protocol: one JSON line in, one JSON line out,
 * over the agent's Unix socket. Each request carries the app key, so only
 * whoever holds TRAILS_APP_KEY can speak for the app.
 */
import { connect } from 'node:net';
import type { JsonValue, MsgType, ProcessInfo } from '../../protocol/frames.js';
import type { TrailsConfig } from '../../client/config.js';

export type AgentRequest =
  | { op: 'ping'; key: string }
  | { op: 'report'; key: string; msgType: MsgType; payload: JsonValue; timeoutMs: number }
  | { op: 'shutdown'; key: string; reason: string; timeoutMs: number };

export type AgentReply =
  | { ok: true; appId: string; seq: number; state: string; duplicate?: boolean; already?: string }
  | { ok: false; code: string; message: string };

/** What an agent is started with (sent over IPC to a spawned agent, never on its command line). */
export interface AgentSpec {
  config: TrailsConfig;
  /** base64 of the 32-byte Ed25519 seed: TRAILS_APP_KEY. */
  seed: string;
  socketPath: string;
  /** The shell that registered: when it is gone the agent drops the connection (the app crashed). */
  ownerPid: number | null;
  processInfo: ProcessInfo;
}

export type AgentCallError = { kind: 'absent'; message: string } | { kind: 'failed'; message: string };

/** Sends one request; rejects with {kind:'absent'} when no agent listens at the path. */
export function callAgent(path: string, req: AgentRequest, timeoutMs: number): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject({ kind: 'failed', message: `the session agent did not answer within ${Math.round(timeoutMs / 1000)} s` } satisfies AgentCallError)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      finish(() => {
        try {
          resolve(JSON.parse(line) as AgentReply);
        } catch {
          reject({ kind: 'failed', message: 'the session agent answered something that is not JSON' } satisfies AgentCallError);
        }
      });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const absent = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      finish(() => reject({ kind: absent ? 'absent' : 'failed', message: err.message } satisfies AgentCallError));
    });
    sock.on('close', () => finish(() => reject({ kind: 'failed', message: 'the session agent closed the connection without an answer' } satisfies AgentCallError)));
  });
}
