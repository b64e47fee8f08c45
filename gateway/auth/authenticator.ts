/**
 * Authenticates one signed request: headers, timestamp and signature
 * (verify-request.ts), then the principal (principal.ts), then the nonce,
 * claimed durably through the group commit so that a replay is refused even
 * after a restart. Shared by the REST routes and the watch upgrade.
 */
import type { Clock, Timer } from '../ports/clock.js';
import type { GroupCommitter } from '../device/group-commit.js';
import type { AppStatus, StoreReader } from '../store/types.js';
import type { SignedRequestFacts } from './request-signing.js';
import { checkSignedRequest, type AuthFailure, type IncomingSigned } from './verify-request.js';
import { isFailure, resolvePrincipal, type Principal } from './principal.js';

export interface AuthenticatorDeps {
  store: Pick<StoreReader, 'getApp' | 'children'>;
  committer: GroupCommitter;
  clock: Clock;
  adminKey: string;
  statusOf(appId: string): AppStatus | undefined;
  /** Accepted distance between a request's timestamp and the gateway clock. */
  skewMs?: number;
}

export type AuthOutcome =
  | { ok: true; principal: Principal; facts: SignedRequestFacts }
  | { ok: false; failure: AuthFailure; facts?: SignedRequestFacts };

export const DEFAULT_SKEW_MS = 300_000;
const PRUNE_EVERY_MS = 60_000;

export class RequestAuthenticator {
  readonly skewMs: number;
  private pruner?: Timer;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.skewMs = deps.skewMs ?? DEFAULT_SKEW_MS;
  }

  start(): void {
    this.pruner = this.deps.clock.every(PRUNE_EVERY_MS, () => this.prune());
  }

  stop(): void {
    this.pruner?.cancel();
  }

  async authenticate(req: IncomingSigned): Promise<AuthOutcome> {
    const now = this.deps.clock.now();
    const checked = checkSignedRequest(req, now, this.skewMs);
    if (!checked.ok) return checked;
    const { facts } = checked;
    const principal = resolvePrincipal(facts, this.deps);
    if (isFailure(principal)) return { ok: false, failure: principal, facts };
    const claimed = await this.claim(facts, now);
    if (claimed === 'error') return { ok: false, failure: { status: 503, code: 'storage_unavailable', message: 'the gateway cannot record the request nonce now; try again' }, facts };
    if (!claimed) return { ok: false, failure: { status: 401, code: 'replayed_nonce', message: 'this nonce was already used with this key; sign every request anew' }, facts };
    return { ok: true, principal, facts };
  }

  /** The nonce is held until the request's timestamp leaves the window: a replay after that is stale anyway. */
  private claim(facts: SignedRequestFacts, now: number): Promise<boolean | 'error'> {
    const expiresAt = facts.timestamp + this.skewMs;
    return new Promise((resolve) => {
      let claimed = false;
      this.deps.committer.enqueue(
        (w) => void (claimed = w.claimNonce(facts.key, facts.nonce, expiresAt, now)),
        (err) => resolve(err ? 'error' : claimed),
      );
    });
  }

  private prune(): void {
    const now = this.deps.clock.now();
    this.deps.committer.enqueue((w) => void w.pruneNonces(now));
  }
}
