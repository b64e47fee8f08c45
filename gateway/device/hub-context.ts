/**
 * What the device handlers use of the hub, as interfaces. The handlers
 * (registration, data, controls, lifecycle sweeper, bootstrap, provisioning)
 * depend on these; the hub (hub.ts) implements them and composes the
 * handlers. So no handler imports the hub or another handler, and
 * gateway/device/ has no import circle. This file imports no handler.
 */
import type { Clock, Timer } from '../ports/clock.js';
import type { EventBus } from '../events.js';
import type { ControlResponseFrame, ErrorCode, ServerFrame } from '../../protocol/frames.js';
import type { GatewayStore, NewAudit } from '../store/types.js';
import type { DeviceRefusalAudit } from '../audit/device-refusals.js';
import type { VerifyPool } from '../crypto/verify-pool.js';
import type { GroupCommitter } from './group-commit.js';
import type { ServerIdentity } from './server-identity.js';
import type { ConnState, HubOptions, LiveApp, SignedFrame } from './hub-types.js';
import type { BootstrapStats, ClaimOutcome, ClaimRequest } from './bootstrap-types.js';
import type { BootstrapDeviceRow } from '../store/bootstrap-types.js';

export interface HubDeps {
  store: GatewayStore;
  committer: GroupCommitter;
  clock: Clock;
  events: EventBus;
  identity: ServerIdentity;
  /** Verifies signed messages off the main thread; without it they are verified inline. */
  verifier?: VerifyPool;
  options?: Partial<HubOptions>;
  /** Refusals of unproven device keys: the first written in full, repeats counted (audit/device-refusals.ts); without it every one is written. */
  deviceAudit?: Pick<DeviceRefusalAudit, 'record'>;
  /** Free space of the data directory: below the reserve, new data is refused (disk-space.ts). */
  space?: { readonly low: boolean };
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: object) => void;
}

export interface HubStats {
  connections: number;
  liveApps: number;
  framesIn: number;
  rejected: number;
  /** Sealed frames refused: replayed, reordered, tampered or truncated (encrypted tier). */
  sealedRefused: number;
  /** Events whose handling threw (a gateway defect): refused with internal_error, logged. */
  internalErrors: number;
}

/** Where a refused frame's error names its app, seq or control. */
export type RefusalContext = { app_id?: string; seq?: number; correlation_id?: string };

/** The services of the hub that the handlers share (hub.ts documents each). */
export interface HubContext {
  readonly deps: HubDeps;
  readonly options: HubOptions;
  liveApp(appId: string): LiveApp | undefined;
  bind(app: LiveApp): void;
  unbind(app: LiveApp): void;
  closeIfIdle(state: ConnState, reason: string): void;
  send(state: ConnState, frame: ServerFrame): void;
  reject(state: ConnState, code: ErrorCode, message: string, ctx?: RefusalContext): void;
  auditRefusal(row: NewAudit, subject: string): void;
  now(): number;
  nowIso(): string;
  after(ms: number, fn: () => void): Timer;
}

/** The ports a handler reads from the hub's dependencies. */
type DepsOf<K extends keyof HubDeps> = { readonly deps: Pick<HubDeps, K> };

// ── collaborators: what one handler asks of another, through the hub ──

/** Of the control service (controls.ts): pending controls sent on (re)registration. */
export interface PendingControls {
  deliverPending(app: LiveApp): void;
}

/** Of the control service (controls.ts): frames of a cancelled app refused and its session ended. */
export interface EndedApps {
  refuseEnded(app: LiveApp, ctx: { app_id: string; seq?: number }): void;
}

/** Of the bootstrap tier (bootstrap.ts): the key a claimed device was pinned to, and the gate's count. */
export interface PinnedKeys {
  readonly stats: Pick<BootstrapStats, 'joinRefused'>;
  checkPinnedKey(state: ConnState, appId: string, presented: string): { code: 'key_mismatch'; message: string } | undefined;
}

/** Of the provision delivery (provisioning.ts), for the bootstrap tier: claims, provisions and their answers. */
export interface Provisions {
  claim(req: ClaimRequest): Promise<ClaimOutcome>;
  send(state: ConnState, row: BootstrapDeviceRow): void;
  onAnswer(state: ConnState, f: ControlResponseFrame, raw: SignedFrame): void;
}

/** The hub makes the bootstrap tier's delivery, given the tier's counters and its sockets by device key. */
export type ProvisionsFactory = (stats: BootstrapStats, linkOf: (childPubKey: string) => ConnState | undefined) => Provisions;

// ── one context per handler: exactly what it uses ──

export interface RegistrationContext
  extends DepsOf<'store' | 'committer' | 'events' | 'identity'>,
    Pick<HubContext, 'options' | 'liveApp' | 'bind' | 'unbind' | 'closeIfIdle' | 'send' | 'reject' | 'auditRefusal' | 'now' | 'nowIso'> {
  readonly controls: PendingControls;
  readonly bootstrap: PinnedKeys;
}

export interface DataContext
  extends DepsOf<'store' | 'committer' | 'events' | 'space'>,
    Pick<HubContext, 'options' | 'liveApp' | 'bind' | 'unbind' | 'closeIfIdle' | 'send' | 'reject' | 'nowIso'> {
  readonly controls: EndedApps;
}

export interface ControlsContext
  extends DepsOf<'store' | 'committer' | 'events' | 'identity' | 'clock'>,
    Pick<HubContext, 'options' | 'liveApp' | 'unbind' | 'send' | 'reject' | 'now' | 'nowIso'> {}

export interface SweeperContext
  extends DepsOf<'store' | 'committer' | 'events' | 'clock'>,
    Pick<HubContext, 'options' | 'liveApp' | 'now' | 'nowIso' | 'after'> {}

export interface ProvisioningContext
  extends DepsOf<'store' | 'committer' | 'events' | 'identity'>,
    Pick<HubContext, 'options' | 'send' | 'reject' | 'now' | 'nowIso'> {}

export interface BootstrapContext
  extends DepsOf<'store' | 'committer' | 'events' | 'identity' | 'clock'>,
    Pick<HubContext, 'options' | 'send' | 'reject' | 'auditRefusal' | 'now' | 'nowIso'> {
  readonly stats: Pick<HubStats, 'rejected'>;
}
