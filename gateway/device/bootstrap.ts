/**
 * The bootstrap tier (addendum 0 §A0.3; docs/PROTOCOL.md "Bootstrap and
 * device lifecycle"): a factory-fresh device knows only its parent's public
 * key and where to make first contact. It sends bootstrap_register on a
 * socket of its own and waits there, "awaiting claim", until the parent
 * claims it (POST /api/v1/claim) and the gateway hands it a provision.
 *
 * The gates, in order: a per-address and a global token bucket (a flood is
 * dropped and counted), proof of possession of the device key, the timestamp
 * window, the pin, an active claim intent for the parent key, and the cap on
 * devices awaiting claim. Nothing is stored before all of them pass.
 *
 * The pin is made at the claim, for the claiming parent key only: a first
 * contact binds nothing, so a stranger cannot lock a MAC away from its owner;
 * once claimed, (MAC, parent key) is bound to the claimed key, and another key
 * is refused, audited and alerted. Expired rows are deleted after a retention.
 */
import type { KeyObject } from 'node:crypto';
import { AddressLimiter } from '../core/address-limiter.js';
import { TokenBucket } from '../core/rate-limit.js';
import { publicKeyObject } from '../crypto/ed25519.js';
import type { Timer } from '../ports/clock.js';
import { iso } from '../ports/clock.js';
import type { BootstrapRegisterFrame } from '../../protocol/bootstrap-frames.js';
import type { ClientFrame } from '../../protocol/frames.js';
import { CloseCode } from '../../protocol/frames.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { verifyFrame } from '../crypto/frame-signing.js';
import type { BootstrapDeviceRow } from '../store/bootstrap-types.js';
import type { BootstrapContext, Provisions, ProvisionsFactory } from './hub-context.js';
import type { ConnState, SignedFrame } from './hub-types.js';
import type { BootstrapStats, ClaimOutcome, ClaimRequest } from './bootstrap-types.js';

export type { BootstrapStats, ClaimOutcome, ClaimRequest };

type Refusal = { code: 'key_mismatch'; message: string };

export class BootstrapService {
  readonly stats: BootstrapStats = { accepted: 0, refused: 0, dropped: 0, notRegistered: 0, keyMismatch: 0, expired: 0, provisionsSent: 0, provisionsAcked: 0, joinRefused: 0, full: 0, purged: 0 };
  private readonly limiter: AddressLimiter;
  /** Sockets that already got their one rate_limited error. */
  private readonly warned = new WeakSet<ConnState>();
  /** The live bootstrap socket of each device key (the latest wins). */
  private readonly links = new Map<string, ConnState>();
  private sweep?: Timer;
  /** Earliest expires_at of an awaiting device (ms); null = not known, read the store. Saves a write a second. */
  private nextDue: number | null = null;
  private readonly provisions: Provisions;
  /** New awaiting rows enqueued but not yet committed (the cap counts them). */
  private queued = 0;
  private lastPurge = Number.NEGATIVE_INFINITY;
  /** All addresses together: a flood from many addresses is capped too. */
  private readonly globalBucket: TokenBucket;

  /** `provisions` makes the delivery of claims and provisions (provisioning.ts), given this tier's counters and sockets. */
  constructor(
    private readonly hub: BootstrapContext,
    provisions: ProvisionsFactory,
  ) {
    this.limiter = new AddressLimiter(hub.options.bootstrapPerMinute, hub.options.bootstrapBurst);
    const perSecond = hub.options.bootstrapGlobalPerMinute / 60;
    this.globalBucket = new TokenBucket(perSecond, hub.options.bootstrapGlobalPerMinute, hub.deps.clock.now());
    this.provisions = provisions(this.stats, (key) => this.linkOf(key));
  }

  start(): void {
    this.sweep = this.hub.deps.clock.every(1000, () => this.expire());
  }

  stop(): void {
    this.sweep?.cancel();
  }

  /** Every frame of a bootstrap socket, and every bootstrap_register, comes here (hub.dispatch). */
  onFrame(state: ConnState, f: ClientFrame, raw: SignedFrame): void {
    if (f.type === 'bootstrap_register') return this.register(state, f, raw);
    if (f.type === 'control_response' && state.bootstrap) return this.provisions.onAnswer(state, f, raw);
    this.stats.notRegistered++;
    this.hub.reject(state, 'not_registered', 'this socket made first contact only: nothing is accepted from it until the device is claimed and registers on a new socket', f.app_id ? { app_id: f.app_id } : {});
  }

  /** The device's live bootstrap socket, if any. */
  linkOf(childPubKey: string): ConnState | undefined {
    const s = this.links.get(childPubKey);
    return s && !s.closed ? s : undefined;
  }

  /**
   * A full register of an app created by a claim must come with the key its
   * device was pinned to. Called by registration after proof of possession.
   */
  checkPinnedKey(state: ConnState, appId: string, presented: string): Refusal | undefined {
    const pin = this.hub.deps.store.bootstrapDeviceByApp(appId);
    if (!pin || pin.child_pub_key === presented) return undefined;
    return this.keyMismatch(state, { mac: pin.mac, appId, presented, pinned: pin.child_pub_key, action: 'register' });
  }

  /** Records a claim and delivers its provision (provisioning.ts). */
  claim(req: ClaimRequest): Promise<ClaimOutcome> {
    return this.provisions.claim(req);
  }

  // ── bootstrap_register ────────────────────────────────────────────

  private register(state: ConnState, f: BootstrapRegisterFrame, raw: SignedFrame): void {
    if (!this.admitAddress(state)) return;
    const refuse = (code: 'bad_frame' | 'bad_signature' | 'stale_timestamp', message: string): void => {
      this.stats.refused++;
      this.hub.reject(state, code, message);
    };
    if (state.apps.size > 0) return refuse('bad_frame', 'this socket carries registered apps; make first contact on a socket of its own');
    if (state.bootstrap && state.bootstrap.childPubKey !== f.child_pub_key) return refuse('bad_frame', 'a bootstrap socket carries one device key');
    const keyBytes = decodePublicKey(f.child_pub_key);
    if (!keyBytes) return refuse('bad_frame', '"child_pub_key" must be ed25519: + base64 of 32 bytes');
    if (!decodePublicKey(f.parent_pub_key)) return refuse('bad_frame', '"parent_pub_key" must be ed25519: + base64 of 32 bytes');
    const key = publicKeyObject(keyBytes);
    if (!verifyFrame(raw, key)) return refuse('bad_signature', 'signature does not verify with child_pub_key (proof of possession)');
    const now = this.hub.now();
    if (Math.abs(now - f.timestamp) > this.hub.options.timestampSkewMs) return refuse('stale_timestamp', 'timestamp is outside the accepted clock skew');
    if (state.bootstrap && f.timestamp <= state.bootstrap.lastAuthTs) return refuse('stale_timestamp', 'timestamp is not newer than the last accepted frame (replay?)');

    const { store } = this.hub.deps;
    const mac = f.device_info.mac;
    const known = store.getBootstrapDevice(f.child_pub_key);
    if (known && known.mac !== mac) {
      // The key made first contact with another MAC: one key is one device.
      return this.closeWith(state, this.keyMismatch(state, { mac, appId: known.claimed_app_id, presented: f.child_pub_key, pinned: `${known.child_pub_key} (MAC ${known.mac})`, action: 'bootstrap_register' }), CloseCode.keyMismatch);
    }
    // A claimed device is owed its provision whatever the intents say now.
    if (known?.status === 'claimed') return this.accept(state, f, key, known, now);
    // The pin is the claim's, under the parent key that claimed: a stranger's first contact (or its own claim,
    // under its own parent key) never blocks the owner's device presenting the owner's key.
    const pin = store.pinnedBootstrapDevice(mac, f.parent_pub_key);
    if (pin) {
      return this.closeWith(state, this.keyMismatch(state, { mac, appId: pin.claimed_app_id, presented: f.child_pub_key, pinned: pin.child_pub_key, action: 'bootstrap_register' }), CloseCode.keyMismatch);
    }
    if (!this.intentActive(f.parent_pub_key, now)) {
      this.stats.refused++;
      this.hub.reject(state, 'no_claim_intent', 'no parent holding parent_pub_key has registered a claim intent; try again later');
      return state.conn.close(CloseCode.noClaimIntent, 'no claim intent');
    }
    if (!known && !this.roomForAnother()) {
      this.stats.full++;
      this.stats.refused++;
      this.hub.reject(state, 'bootstrap_full', `${this.hub.options.bootstrapMaxAwaiting} devices are already awaiting claim; try again later`);
      return state.conn.close(CloseCode.overloaded, 'bootstrap_full');
    }
    this.accept(state, f, key, known, now);
  }

  /** The global cap on awaiting rows; rows this turn already queued count too. */
  private roomForAnother(): boolean {
    return this.hub.deps.store.countBootstrapDevices('awaiting') + this.queued < this.hub.options.bootstrapMaxAwaiting;
  }

  private accept(state: ConnState, f: BootstrapRegisterFrame, key: KeyObject, known: BootstrapDeviceRow | undefined, now: number): void {
    const at = iso(now);
    const d = f.device_info;
    const rearm = !known || known.status === 'expired';
    const expiresAt = rearm ? iso(now + this.hub.options.bootstrapTtlMs) : known.expires_at;
    if (this.nextDue !== null) this.nextDue = Math.min(this.nextDue, Date.parse(expiresAt));
    const facts = { chip: d.chip, firmware: d.firmware, flash_id: d.flash_id, last_seen: at, remote: state.conn.remote };
    state.regTimer?.cancel();
    state.bootstrap = { childPubKey: f.child_pub_key, key, lastAuthTs: f.timestamp };
    this.links.set(f.child_pub_key, state);
    if (!known) this.queued++;
    this.hub.deps.committer.enqueue(
      (w) => {
        if (!known) {
          w.insertBootstrapDevice({
            child_pub_key: f.child_pub_key, mac: d.mac, parent_pub_key: f.parent_pub_key, status: 'awaiting', first_seen: at, expires_at: expiresAt,
            claimed_app_id: null, claimed_parent_id: null, claimed_by: null, claimed_at: null, provision_json: null, provision_correlation_id: null, provision_status: null,
            ...facts,
          });
        } else {
          w.updateBootstrapDevice(f.child_pub_key, { ...facts, expires_at: expiresAt, ...(known.status === 'claimed' ? {} : { status: 'awaiting', parent_pub_key: f.parent_pub_key }) });
        }
      },
      (err) => {
        if (!known) this.queued--;
        if (err) {
          this.links.delete(f.child_pub_key);
          state.bootstrap = undefined;
          this.stats.refused++;
          // One key twice in one turn: the second insert loses on the primary key.
          if (/UNIQUE/.test(err.message)) return this.closeWith(state, { code: 'key_mismatch', message: `key ${f.child_pub_key} made first contact already` }, CloseCode.keyMismatch);
          return this.hub.reject(state, 'storage_unavailable', `bootstrap_register not stored: ${err.message}`);
        }
        this.stats.accepted++;
        const row = this.hub.deps.store.getBootstrapDevice(f.child_pub_key)!;
        this.hub.send(state, this.hub.deps.identity.sign({ type: 'bootstrap_pending' as const, child_pub_key: f.child_pub_key, expires_at: Date.parse(row.expires_at) }));
        // Owed: not yet acked, or acked by a device that never registered where it
        // was sent (it came back to first contact: that server was out of reach).
        const neverArrived = row.claimed_app_id !== null && this.hub.deps.store.getApp(row.claimed_app_id)?.status === 'scheduled';
        if (row.status === 'claimed' && (row.provision_status !== 'acked' || neverArrived)) this.provisions.send(state, row);
      },
    );
  }

  // ── gates and sweeps ──────────────────────────────────────────────

  private admitAddress(state: ConnState): boolean {
    const o = this.hub.options;
    const remote = state.conn.remote;
    const now = this.hub.now();
    const mine = this.limiter.take(remote, now);
    if (mine && this.globalBucket.take(now)) return true;
    this.stats.dropped++;
    this.hub.stats.rejected++;
    // One error per socket: answering every dropped frame would amplify the flood.
    if (!this.warned.has(state)) {
      this.warned.add(state);
      const why = mine ? `over ${o.bootstrapGlobalPerMinute} bootstrap registrations a minute from all addresses` : `over ${o.bootstrapPerMinute} bootstrap registrations a minute from ${remote}`;
      this.hub.send(state, { type: 'error', code: 'rate_limited', message: `${why}; dropped` });
    }
    return false;
  }

  private intentActive(parentPubKey: string, now: number): boolean {
    const intent = this.hub.deps.store.getClaimIntent(parentPubKey);
    return intent !== undefined && intent.expires_at > iso(now);
  }

  private keyMismatch(state: ConnState, m: { mac: string; appId: string | null; presented: string; pinned: string; action: string }): Refusal {
    this.stats.keyMismatch++;
    const at = this.hub.nowIso();
    const remote = state.conn.remote;
    const row = m.appId ? this.hub.deps.store.getApp(m.appId) : undefined;
    this.hub.auditRefusal(
      {
        timestamp: at, action: m.action, target_app_id: m.appId, cascade: false, payload_json: { mac: m.mac, presented_key: m.presented, pinned_key: m.pinned },
        auth_domain: 'device', source_app_id: null, oauth_subject: null, source_ip: remote, user_agent: null, outcome: 'refused:key_mismatch',
      },
      `${m.mac} ${m.presented}`,
    );
    this.hub.deps.events.emit({
      type: 'alert', kind: 'key_mismatch', app_id: m.appId ?? '', parent_id: row?.parent_id ?? null, namespace: row?.namespace ?? null, at,
      mac: m.mac, presented_key: m.presented, pinned_key: m.pinned, remote,
    });
    return { code: 'key_mismatch', message: `MAC ${m.mac} is pinned to another key under this parent key (made at its claim); only a rotate_keys of the claimed device moves it` };
  }

  private closeWith(state: ConnState, r: Refusal, code: number): void {
    this.stats.refused++;
    this.hub.reject(state, r.code, r.message);
    state.conn.close(code, r.code);
  }

  /** Expired rows go after their retention, checked once a minute: nothing a stranger leaves behind stays for good. */
  private purge(now: number): void {
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    const before = iso(now - this.hub.options.bootstrapRetentionMs);
    this.hub.deps.committer.enqueue((w) => void (this.stats.purged += w.deleteExpiredBootstrapDevices(before)));
  }

  /** Unclaimed devices past their time become expired and their sockets close (4007); idle address buckets go. */
  private expire(): void {
    const now = this.hub.now();
    this.limiter.prune(now);
    this.purge(now);
    for (const [key, s] of this.links) if (s.closed || s.bootstrap?.childPubKey !== key) this.links.delete(key);
    this.nextDue ??= this.hub.deps.store.listBootstrapDevices({ status: 'awaiting' }).reduce((m, r) => Math.min(m, Date.parse(r.expires_at)), Infinity);
    if (now < this.nextDue) return;
    this.nextDue = null;
    let keys: string[] = [];
    this.hub.deps.committer.enqueue(
      (w) => void (keys = w.expireBootstrapDevices(iso(now))),
      (err) => {
        if (err) return;
        for (const key of keys) {
          this.stats.expired++;
          this.linkOf(key)?.conn.close(CloseCode.bootstrapExpired, 'not claimed in time');
          this.links.delete(key);
        }
      },
    );
  }
}
