/**
 * The REST and watch client of the CLI: every request is signed anew
 * (protocol/request-signing.ts, the input the gateway verifies with),
 * every refusal becomes an ApiFailure with the gateway's own message, and an
 * unreachable gateway becomes one line that says where the CLI looked.
 */
import WebSocket from 'ws';
import type { JsonValue } from '../../protocol/frames.js';
import type { ErrorBody } from '../../protocol/api/errors.js';
import type { CrashRow, MessageRow, SnapshotRow } from '../../protocol/api/resources.js';
import { signRequest } from '../crypto.js';
import { ApiFailure, CliError, describeCause } from '../errors.js';
import type { Signer } from '../settings.js';
import type { ApiClient, App, CancelReport, ControlAnswer, DeclareChild, DeclaredChild, Health, JoinGrant, WatchConnection, WatchFilter, WatchMessage } from './types.js';

const PREFIX = '/api/v1';

export interface HttpClientOptions {
  serverUrl: string;
  signer: () => Signer;
  fetch?: typeof fetch;
  /** Per request (default 60 s; control and cancel add their own wait). */
  timeoutMs?: number;
}

interface Response<T> {
  status: number;
  body: T;
}

export class HttpApiClient implements ApiClient {
  readonly serverUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpClientOptions) {
    this.serverUrl = opts.serverUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async health(): Promise<Health> {
    return (await this.send<Health>('GET', '/healthz', undefined, { signed: false, ok: [200, 503] })).body;
  }

  async getApp(appId: string): Promise<App> {
    return (await this.send<App>('GET', `${PREFIX}/apps/${id(appId)}`)).body;
  }

  async listApps(query: { status?: string; parent_id?: string; limit?: number } = {}): Promise<App[]> {
    return (await this.send<{ apps: App[] }>('GET', `${PREFIX}/apps${qs(query)}`)).body.apps;
  }

  async children(appId: string, query: { recursive?: boolean; status?: string } = {}): Promise<App[]> {
    const q = { ...(query.recursive ? { recursive: 'true' } : {}), ...(query.status ? { status: query.status } : {}) };
    return (await this.send<{ children: App[] }>('GET', `${PREFIX}/apps/${id(appId)}/children${qs(q)}`)).body.children;
  }

  async latestSnapshot(appId: string): Promise<SnapshotRow | undefined> {
    const res = await this.send<SnapshotRow | { error: { code: string } }>('GET', `${PREFIX}/apps/${id(appId)}/snapshots/latest`, undefined, { ok: [200, 404] });
    return res.status === 200 ? (res.body as SnapshotRow) : undefined;
  }

  async messages(appId: string, query: { type?: string; limit?: number } = {}): Promise<MessageRow[]> {
    return (await this.send<{ messages: MessageRow[] }>('GET', `${PREFIX}/apps/${id(appId)}/messages${qs(query)}`)).body.messages;
  }

  async crashes(appId: string, limit = 10): Promise<CrashRow[]> {
    return (await this.send<{ crashes: CrashRow[] }>('GET', `${PREFIX}/crashes${qs({ app_id: appId, limit })}`)).body.crashes;
  }

  async control(appId: string, body: { action: string; payload?: JsonValue; timeoutMs?: number }): Promise<ControlAnswer> {
    const wait = (body.timeoutMs ?? 10_000) + this.timeoutMs;
    return (await this.send<ControlAnswer>('POST', `${PREFIX}/apps/${id(appId)}/control`, body, { ok: [200, 504], timeoutMs: wait })).body;
  }

  async cancel(appId: string, o: { cascade: boolean; graceSeconds?: number; reason?: string }): Promise<CancelReport> {
    const q = { ...(o.cascade ? { cascade: 'true' } : {}), ...(o.graceSeconds !== undefined ? { grace: String(o.graceSeconds) } : {}) };
    // A cascade waits up to one grace period per level; the request must outlive that.
    const wait = this.timeoutMs + (o.graceSeconds ?? 30) * 1000 * 64;
    const body = o.reason !== undefined ? { reason: o.reason } : undefined;
    return (await this.send<CancelReport>('POST', `${PREFIX}/apps/${id(appId)}/cancel${qs(q)}`, body, { timeoutMs: wait })).body;
  }

  async declareChild(body: DeclareChild): Promise<DeclaredChild> {
    return (await this.send<DeclaredChild>('POST', `${PREFIX}/children`, body, { ok: [201, 200] })).body;
  }

  async joinToken(body: { appId: string; parentId: string | null }): Promise<JoinGrant> {
    return (await this.send<JoinGrant>('POST', `${PREFIX}/join-tokens`, body, { ok: [201, 200] })).body;
  }

  watch(filter: WatchFilter, onMessage: (m: WatchMessage) => void): Promise<WatchConnection> {
    const path = `${PREFIX}/watch${qs({ ...filter })}`;
    const headers = this.sign('GET', path);
    const url = `${this.serverUrl.replace(/^http/, 'ws')}${path}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: this.timeoutMs });
      let opened = false;
      const closed = new Promise<{ code: number; reason: string }>((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
      ws.on('unexpected-response', (_req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => reject(failure(res.statusCode ?? 0, text)));
        res.on('error', () => reject(failure(res.statusCode ?? 0, text)));
      });
      ws.on('error', (err) => {
        if (!opened) reject(this.unreachable(err));
      });
      ws.on('message', (data) => {
        let m: WatchMessage;
        try {
          m = JSON.parse(String(data)) as WatchMessage;
        } catch {
          return;
        }
        onMessage(m);
      });
      ws.on('open', () => {
        opened = true;
        resolve({ closed, close: () => ws.close(1000, 'done') });
      });
    });
  }

  // ── plumbing ────────────────────────────────────────────────────────

  private sign(method: string, path: string, body?: string): Record<string, string> {
    const s = this.opts.signer();
    return signRequest({ method, path, ...(body !== undefined ? { body } : {}), key: s.key, appId: s.kind === 'app' ? s.appId : null });
  }

  private async send<T>(method: string, path: string, body?: unknown, o: { signed?: boolean; ok?: number[]; timeoutMs?: number } = {}): Promise<Response<T>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = text !== undefined ? { 'content-type': 'application/json' } : {};
    if (o.signed !== false) Object.assign(headers, this.sign(method, path, text));
    let res: globalThis.Response;
    try {
      res = await this.fetchImpl(`${this.serverUrl}${path}`, {
        method,
        headers,
        ...(text !== undefined ? { body: text } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const raw = await res.text();
    if (!(o.ok ?? [200]).includes(res.status)) throw failure(res.status, raw);
    try {
      return { status: res.status, body: JSON.parse(raw) as T };
    } catch {
      throw new CliError(`the gateway at ${this.serverUrl} answered ${method} ${path.split('?')[0]} with something that is not JSON (HTTP ${res.status})`);
    }
  }

  private unreachable(err: unknown): CliError {
    if ((err as Error)?.name === 'TimeoutError') return new CliError(`the gateway at ${this.serverUrl} did not answer in time`);
    return new CliError(`cannot reach the gateway at ${this.serverUrl}: ${describeCause(err)} (is trailsd running? set --server or TRAILS_SERVER)`);
  }
}

/** The gateway's {error:{code,message}} as one line; anything else by its status. */
function failure(status: number, text: string): ApiFailure {
  try {
    const b = JSON.parse(text) as { error?: Partial<ErrorBody['error']> };
    if (b.error?.message) return new ApiFailure(status, b.error.code ?? 'error', b.error.message);
  } catch {
    /* not JSON */
  }
  return new ApiFailure(status, 'error', text.trim() ? text.trim().slice(0, 200) : `the gateway answered HTTP ${status}`);
}

function id(appId: string): string {
  return encodeURIComponent(appId);
}

function qs(q: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
