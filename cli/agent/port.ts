/**
 * How commands reach session agents: start one (`trails register`) and send
 * one a request (the data-path commands). The default starts a detached
 * process (launch.ts); tests may run agents in-process instead.
 */
import { callAgent, type AgentReply, type AgentRequest, type AgentSpec } from './protocol.js';

export interface AgentPort {
  launch(spec: AgentSpec): Promise<{ lastSeq: number; pid: number | null }>;
  call(socketPath: string, req: AgentRequest, timeoutMs: number): Promise<AgentReply>;
}

export function agentPort(launch: AgentPort['launch']): AgentPort {
  return { launch, call: callAgent };
}
