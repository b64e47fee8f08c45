/**
 * Runs conformance scenarios against a gateway over its WebSocket and its
 * SQLite file. It knows nothing of the gateway's internals: what only an
 * in-process test can do (restart the gateway, send a control) comes in as
 * hooks, and scenarios that need a missing hook are skipped, not failed.
 *
 * A scenario with a `precondition` continues the chain of that scenario: the
 * same placeholders (app ids, keys, LAST_SEQ) and the same socket.
 */
import Database from 'better-sqlite3';
import { FrameSocket } from './frame-socket.js';
import { Placeholders } from './placeholders.js';
import { newSigningKey } from './signatures.js';
import { assign, checkFields, checkRow, checkSubset, show } from './checks.js';
import type { Check, Json, JsonObject, Scenario, Step } from './scenario.js';
import { hooksNeeded, type Hook } from './scenario.js';

export interface ControlRequest {
  appId: string;
  action: string;
  payload?: Json;
  ttlMs?: number;
}

export interface ConformanceTarget {
  /** ws://host:port/ws; unchanged across restarts (same port). */
  wsUrl: string;
  /** The gateway's trails.db, read through a separate read-only connection. */
  dbPath: string;
  /** The gateway's key; learned from the first `registered` frame when absent. */
  serverPubKey?: string;
  /** Stops the gateway and starts it again on the same data dir and port. */
  restart?: () => Promise<void>;
  /** Queues a control; `done` settles with the outcome (answered, expired, …). */
  sendControl?: (req: ControlRequest) => { correlationId: string; done: Promise<unknown> };
  /** How long client_expect waits for a frame (default 5000 ms). */
  expectTimeoutMs?: number;
}

export interface ScenarioResult {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped: one line per problem. */
  messages: string[];
}

/** What a precondition chain carries from one scenario to the next. */
interface Chain {
  vars: Placeholders;
  socket?: FrameSocket;
  /** The socket that `new_connection` replaced, still open until dropped. */
  previous?: FrameSocket;
  lastSent?: Record<string, unknown>;
  controls: Map<string, Promise<unknown>>;
}

class StepFailure extends Error {}

export class ConformanceRunner {
  private readonly byName: Map<string, Scenario>;
  private readonly results = new Map<string, ScenarioResult>();
  private readonly chains = new Map<string, Chain>();
  private readonly parents: Array<{ socket: FrameSocket; appId: string }> = [];
  private serverPubKey: string | undefined;

  constructor(private readonly target: ConformanceTarget, scenarios: readonly Scenario[]) {
    this.byName = new Map(scenarios.map((s) => [s.name, s]));
    this.serverPubKey = target.serverPubKey;
  }

  async runAll(): Promise<ScenarioResult[]> {
    const out: ScenarioResult[] = [];
    for (const s of this.byName.values()) out.push(await this.run(s));
    return out;
  }

  /** Runs a scenario once (its precondition first, if that has not run). */
  async run(s: Scenario): Promise<ScenarioResult> {
    const done = this.results.get(s.name);
    if (done) return done;
    const result = await this.execute(s);
    this.results.set(s.name, result);
    return result;
  }

  /** Closes every socket; parent apps leave with a `disconnect`. */
  async close(): Promise<void> {
    for (const chain of this.chains.values()) {
      await chain.socket?.close();
      await chain.previous?.close();
    }
    for (const p of this.parents) {
      if (p.socket.isOpen) p.socket.send({ type: 'disconnect', app_id: p.appId, reason: 'completed' });
      await p.socket.close();
    }
  }

  private async execute(s: Scenario): Promise<ScenarioResult> {
    const missing = [...hooksNeeded(s, this.byName)].filter((h) => !this.hasHook(h));
    if (missing.length > 0) {
      return { name: s.name, status: 'skipped', messages: [`needs server_action ${missing.join(', ')}, which this run cannot perform`] };
    }
    let chain: Chain;
    if (s.precondition) {
      const pre = this.byName.get(s.precondition);
      if (!pre) return { name: s.name, status: 'failed', messages: [`precondition ${s.precondition} is not among the scenarios`] };
      const r = await this.run(pre);
      if (r.status !== 'passed') return { name: s.name, status: r.status, messages: [`precondition ${pre.name} ${r.status}`] };
      chain = this.chains.get(pre.name)!;
    } else {
      chain = { vars: new Placeholders(() => this.serverPubKey), controls: new Map() };
    }
    this.chains.set(s.name, chain);
    try {
      await this.registerParents(s, chain);
    } catch (e) {
      return { name: s.name, status: 'failed', messages: [`registering the parent app: ${(e as Error).message}`] };
    }
    for (const [i, step] of s.steps.entries()) {
      try {
        await this.step(step, chain, s);
      } catch (e) {
        const label = step.action === 'server_action' || step.action === 'client_action' ? `${step.action} ${step.action_type}` : step.action;
        return { name: s.name, status: 'failed', messages: [`step ${i + 1} (${label}): ${(e as Error).message}`] };
      }
    }
    return { name: s.name, status: 'passed', messages: [] };
  }

  private hasHook(h: Hook): boolean {
    return h === 'simulate_restart' ? this.target.restart !== undefined : this.target.sendControl !== undefined;
  }

  private async step(step: Step, chain: Chain, s: Scenario): Promise<void> {
    const { vars } = chain;
    switch (step.action) {
      case 'client_send':
        return this.clientSend(step, chain);
      case 'server_expect': {
        const sent = chain.lastSent;
        if (!sent) throw new StepFailure('nothing was sent yet');
        if (step.message_type !== undefined && sent.type !== step.message_type) {
          throw new StepFailure(`the last frame sent is ${show(sent.type)}, not ${step.message_type}`);
        }
        return fail(checkFields(sent, substituteChecks(vars, step.checks)), sent);
      }
      case 'client_expect': {
        const frame = await this.receive(chain, step.timeout_seconds);
        const checks = substituteChecks(vars, step.checks);
        const failures = checkFields(frame, checks);
        if (step.message) failures.push(...checkSubset(frame, vars.substitute(step.message)));
        return fail(failures, frame);
      }
      case 'db_check':
        return fail(checkRow(this.queryRow(vars.text(step.query)), vars.substitute(step.expect)));
      case 'delay':
        return sleep(step.seconds * 1000);
      case 'setup':
        return this.setup(step.app ?? firstAppPlaceholder(s), chain, s);
      case 'client_action':
        return this.clientAction(step, chain);
      case 'server_action':
        return this.serverAction(step, chain);
    }
  }

  private async clientSend(step: Extract<Step, { action: 'client_send' }>, chain: Chain): Promise<void> {
    const { vars } = chain;
    for (let n = 0; n < (step.repeat ?? 1); n++) {
      const frame = vars.substitute(step.message) as Record<string, unknown>;
      if (step.sign) frame.sig = vars.signingKey(typeof step.sign === 'string' ? step.sign : 'CLIENT_PUB_KEY').sign(frame);
      for (const [path, value] of Object.entries(step.tamper ?? {})) assign(frame, path, vars.substitute(value));
      const socket = await this.socketFor(chain);
      socket.send(frame);
      chain.lastSent = frame;
      const seq = (frame.header as { seq?: unknown } | undefined)?.seq;
      if (frame.type === 'message' && typeof seq === 'number') vars.lastSeq = Math.max(vars.lastSeq, seq);
      // With `repeat`, each frame must be acked before the next one goes.
      if (step.repeat !== undefined) {
        const reply = await this.receive(chain);
        fail(checkFields(reply, [{ field: 'type', equals: 'ack' }, { field: 'seq', equals: seq as Json }]), reply);
      }
    }
  }

  private async clientAction(step: Extract<Step, { action: 'client_action' }>, chain: Chain): Promise<void> {
    if (step.action_type === 'new_connection') {
      chain.previous = chain.socket;
      chain.socket = await FrameSocket.open(this.target.wsUrl);
      return;
    }
    const previous = step.which === 'previous';
    const socket = previous ? chain.previous : chain.socket;
    if (!socket) throw new StepFailure(`there is no ${previous ? 'previous ' : ''}connection to drop`);
    socket.terminate();
    if (previous) chain.previous = undefined;
    else chain.socket = undefined;
  }

  /** Registers a fresh app with a fresh key and brings it to running with Status seq 1. */
  private async setup(appName: string, chain: Chain, s: Scenario): Promise<void> {
    const { vars } = chain;
    const appId = vars.text(`{{${appName}}}`);
    const socket = await this.socketFor(chain);
    socket.send(registerFrame(appId, null, `conformance-${s.name}`, vars.text('{{CLIENT_PUB_KEY}}')));
    const registered = await this.receive(chain);
    fail(checkFields(registered, [{ field: 'type', equals: 'registered' }, { field: 'app_id', equals: appId }]), registered);
    const status = { type: 'message', app_id: appId, header: { msg_type: 'Status', timestamp: Date.now(), seq: 1, correlation_id: null }, payload: { phase: 'setup' }, sig: null };
    socket.send(status);
    chain.lastSent = status;
    const ack = await this.receive(chain);
    fail(checkFields(ack, [{ field: 'type', equals: 'ack' }, { field: 'seq', equals: 1 }]), ack);
    vars.lastSeq = Math.max(vars.lastSeq, 1);
  }

  private async serverAction(step: Extract<Step, { action: 'server_action' }>, chain: Chain): Promise<void> {
    const { vars } = chain;
    switch (step.action_type) {
      case 'simulate_restart':
        await this.target.restart!();
        // The gateway closed the socket; the next client_send opens a new one.
        chain.socket?.terminate();
        chain.socket = undefined;
        return;
      case 'send_control': {
        const c = step.control;
        const req: ControlRequest = { appId: vars.text(step.app), action: c.action };
        if (c.payload !== undefined) req.payload = vars.substitute(c.payload);
        if (c.ttl_seconds !== undefined) req.ttlMs = c.ttl_seconds * 1000;
        const { correlationId, done } = this.target.sendControl!(req);
        vars.set(step.save_as ?? 'CORRELATION_ID', correlationId);
        chain.controls.set(correlationId, done);
        return;
      }
      case 'await_control': {
        const id = vars.text(step.correlation_id);
        const done = chain.controls.get(id);
        if (!done) throw new StepFailure(`no control ${id} was sent in this chain`);
        const ms = (step.timeout_seconds ?? 5) * 1000;
        const outcome = await withTimeout(done, ms, `control ${id} did not settle within ${ms} ms`);
        const checks = substituteChecks(vars, step.checks);
        return fail(checkFields(outcome as Record<string, unknown>, checks), outcome);
      }
    }
  }

  /** A PARENT_ID… placeholder must name an app that exists: register one on its own socket. */
  private async registerParents(s: Scenario, chain: Chain): Promise<void> {
    for (const name of Placeholders.namesIn(s.steps)) {
      if (!name.startsWith('PARENT_ID') || chain.vars.has(name)) continue;
      const appId = chain.vars.text(`{{${name}}}`);
      const socket = await FrameSocket.open(this.target.wsUrl);
      this.parents.push({ socket, appId });
      socket.send(registerFrame(appId, null, `conformance-parent-${s.name}`, newSigningKey().publicKeyText));
      const reply = await socket.next(this.timeoutMs());
      this.learnServerKey(reply);
      fail(checkFields(reply, [{ field: 'type', equals: 'registered' }, { field: 'app_id', equals: appId }]), reply);
    }
  }

  private async socketFor(chain: Chain): Promise<FrameSocket> {
    if (!chain.socket?.isOpen) chain.socket = await FrameSocket.open(this.target.wsUrl);
    return chain.socket;
  }

  private async receive(chain: Chain, timeoutSeconds?: number): Promise<Record<string, unknown>> {
    if (!chain.socket) throw new StepFailure('there is no connection to receive from');
    const frame = await chain.socket.next(timeoutSeconds !== undefined ? timeoutSeconds * 1000 : this.timeoutMs());
    this.learnServerKey(frame);
    return frame;
  }

  private learnServerKey(frame: Record<string, unknown>): void {
    if (this.serverPubKey === undefined && frame.type === 'registered' && typeof frame.server_pub_key === 'string') {
      this.serverPubKey = frame.server_pub_key;
    }
  }

  private timeoutMs(): number {
    return this.target.expectTimeoutMs ?? 5000;
  }

  private queryRow(sql: string): Record<string, unknown> | undefined {
    const db = new Database(this.target.dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).get() as Record<string, unknown> | undefined;
    } catch (e) {
      throw new StepFailure(`query failed: ${(e as Error).message}: ${sql}`);
    } finally {
      db.close();
    }
  }
}

function registerFrame(appId: string, parentId: string | null, appName: string, pubKey: string): JsonObject {
  const processInfo = { pid: process.pid, ppid: process.ppid, uid: null, gid: null, hostname: 'conformance', node_name: null, pod_ip: null, namespace: null, start_time: Date.now(), executable: process.execPath };
  return { type: 'register', app_id: appId, parent_id: parentId, app_name: appName, child_pub_key: pubKey, process_info: processInfo, role_refs: [], sig: null };
}

/** The app placeholder a `setup` step without "app" registers: the first APP_ID… the scenario uses. */
function firstAppPlaceholder(s: Scenario): string {
  return [...Placeholders.namesIn(s.steps)].find((n) => n.startsWith('APP_ID')) ?? 'APP_ID';
}

/** Checks are plain JSON, so placeholders in `equals` and the like are substituted too. */
function substituteChecks(vars: Placeholders, checks: readonly Check[]): Check[] {
  return vars.substitute(checks as unknown as Json) as unknown as Check[];
}

function fail(failures: string[], subject?: unknown): void {
  if (failures.length === 0) return;
  throw new StepFailure(failures.join('; ') + (subject === undefined ? '' : ` (in ${show(subject)})`));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StepFailure(message)), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
