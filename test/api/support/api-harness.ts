/**
 * A real gateway on a temporary data directory (port 0, silent), and helpers
 * to call its API as the admin or as an app: every call is signed anew with
 * the same helper the CLI uses (gateway/auth/request-signing.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../../gateway/app.js';
import { defaultConfig, type GatewayConfig } from '../../../gateway/config.js';
import type { Ed25519KeyPair } from '../../../gateway/crypto/ed25519.js';
import { signRequest } from '../../../gateway/auth/request-signing.js';
import type { SimApp } from './sim-device.js';

export interface Signer {
  key: Ed25519KeyPair;
  appId?: string | null;
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trails-api-'));
  dirs.push(d);
  return d;
}

export function cleanDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function testConfig(over: Partial<GatewayConfig> = {}): GatewayConfig {
  return { ...defaultConfig(), dataDir: tempDir(), host: '127.0.0.1', port: 0, logLevel: 'silent', heartbeatMs: 0, registration: 'open', ...over };
}

export async function startTestGateway(over: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  return startGateway(testConfig(over));
}

/** Signs as a registered app: its key, and X-Trails-App naming it. */
export const as = (app: Pick<SimApp, 'key' | 'appId'>): Signer => ({ key: app.key, appId: app.appId });

export function admin(gw: RunningGateway): Signer {
  return { key: gw.admin.pair };
}

/** A signed in-process request (fastify inject); `body` is sent as JSON text unless it is already a string. */
export async function call<T = any>(gw: RunningGateway, signer: Signer | null, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<CallResult<T>> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...(text !== undefined ? { 'content-type': 'application/json' } : {}) };
  if (signer) Object.assign(headers, signRequest({ method, path, body: text, key: signer.key, appId: signer.appId ?? null }));
  Object.assign(headers, extraHeaders);
  const res = await gw.http.inject({ method: method as 'GET', url: path, headers, ...(text !== undefined ? { payload: text } : {}) });
  let parsed: unknown = res.body;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, body: parsed as T, headers: res.headers };
}

export { until } from '../../support/until.js';

/**
 * Ends the refusal tally's interval now and waits until its rows are
 * committed: refusals of unauthenticated requests are counted, not written
 * one by one (gateway/audit/refusal-tally.ts).
 */
export async function flushRefusals(gw: RunningGateway): Promise<void> {
  gw.refusals.flush();
  await new Promise<void>((resolve) => gw.hub.deps.committer.enqueue(() => {}, () => resolve()));
}
