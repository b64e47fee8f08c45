/**
 * register, re_register and disconnect (spec §8, §19), and the crash that a
 * lost connection means. Each decides synchronously against the live state
 * and the store, binds the app at once (so frames that follow in the same
 * tick find it), and answers only after the group commit made it durable.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyObject } from '../crypto/ed25519.js';
import { canResume, isTerminal, statusAfterDisconnect } from '../core/lifecycle.js';
import type { DisconnectFrame, ErrorCode, ReRegisterFrame, RegisterFrame, SecLevel } from '../../protocol/frames.js';
import { decodePublicKey } from '../../protocol/keys.js';
import { verifyFrame } from '../crypto/frame-signing.js';
import { acceptHandshake } from './encrypted.js';
import { joinTokenValid } from './join-gate.js';
import { hasDeparture, KEY_ROTATION_SKEW_MS, keyAllowed, withoutDeparture, withoutRotation } from './system-actions.js';
import type { AppPatch, AppRow, CrashType, StoreWriter } from '../store/types.js';
import type { RegistrationContext } from './hub-context.js';
import type { ConnState, LiveApp, SignedFrame } from './hub-types.js';
import { SEC_RANK } from './hub-types.js';

type Refusal = { code: ErrorCode; message: string };

export class RegistrationHandler {
  constructor(private readonly hub: RegistrationContext) {}

  register(state: ConnState, f: RegisterFrame, raw: SignedFrame): void {
    const tier: SecLevel = f.sec_level ?? (f.sig ? 'signed' : 'open');
    const existing = this.current(f.app_id);
    const gate = this.checkJoin(state, f.app_id, existing, f.parent_id, tier, f.join);
    if (gate) return this.refuse(state, f.app_id, gate);
    const refusal = this.checkRegisterTarget(state, f, tier, existing);
    if (refusal) return this.refuse(state, f.app_id, refusal);
    const keyOrRefusal = this.checkRegisterAuth(state, f, raw, tier, existing?.last_auth_ts ?? 0);
    if ('code' in keyOrRefusal) return this.refuse(state, f.app_id, keyOrRefusal);
    const rotated = existing !== undefined && existing.status !== 'scheduled' && this.keyCheck(existing, f.child_pub_key) === 'rotated';
    // An app made by a claim takes only the key its device was pinned to at the claim (bootstrap.ts),
    // or the new key a rotate_keys announced.
    const pinned = existing && !rotated ? this.hub.bootstrap.checkPinnedKey(state, f.app_id, f.child_pub_key) : undefined;
    if (pinned) return this.refuse(state, f.app_id, pinned);

    const now = this.hub.nowIso();
    const pi = f.process_info ?? {};
    const resumed = existing !== undefined && existing.status !== 'scheduled';
    const lastSeq = this.highSeqOf(f.app_id, existing);
    const app = this.newLive(state, f.app_id, existing?.parent_id ?? f.parent_id, pi.namespace ?? existing?.namespace ?? null, tier, f.child_pub_key, tier === 'encrypted' ? null : keyOrRefusal.key, lastSeq);
    const sealing = this.seal(state, app, f.child_ephemeral);
    if ('code' in sealing) return this.refuse(state, f.app_id, sealing);
    app.status = resumed ? 'running' : 'connected';
    app.lastAuthTs = f.timestamp ?? 0;
    const patch: AppPatch = {
      status: app.status,
      pub_key: f.child_pub_key,
      sec_level: tier,
      connected_at: now,
      disconnected_at: null,
      server_instance: this.hub.options.serverInstance,
      last_auth_ts: app.lastAuthTs,
      pid: pi.pid ?? null,
      ppid: pi.ppid ?? null,
      proc_uid: pi.uid ?? null,
      proc_gid: pi.gid ?? null,
      pod_name: pi.hostname ?? null,
      node_name: pi.node_name ?? null,
      pod_ip: pi.pod_ip ?? null,
      namespace: app.namespace,
      executable: pi.executable ?? null,
      start_time: pi.start_time != null ? new Date(pi.start_time).toISOString() : null,
      updated_at: now,
    };
    if (f.role_refs) patch.role_refs = f.role_refs;
    if (rotated) patch.metadata_json = withoutRotation(existing.metadata_json);
    if (existing && hasDeparture(existing.metadata_json)) patch.metadata_json = withoutDeparture(patch.metadata_json ?? existing.metadata_json);
    this.hub.bind(app);
    this.hub.deps.committer.enqueue(
      (w) =>
        existing
          ? (w.updateApp(f.app_id, patch), rotated && this.repin(w, f.app_id, f.child_pub_key))
          : w.insertApp({ app_id: f.app_id, parent_id: f.parent_id, app_name: f.app_name, created_at: now, ...patch, status: app.status }),
      this.answerRegistered(state, app, sealing.answer),
    );
  }

  reRegister(state: ConnState, f: ReRegisterFrame, raw: SignedFrame): void {
    const row = this.current(f.app_id);
    if (!row) return this.refuse(state, f.app_id, { code: 'registration_failed', message: `no app ${f.app_id} to re_register; send register` });
    const gate = this.checkJoin(state, f.app_id, row, row.parent_id, (row.sec_level ?? 'open') as SecLevel, f.join);
    if (gate) return this.refuse(state, f.app_id, gate);
    const keyUse = this.keyCheck(row, f.pub_key);
    if (keyUse === 'no') return this.refuse(state, f.app_id, this.owned(state, row, f.pub_key));
    if (!canResume(row.status)) return this.refuse(state, f.app_id, { code: 'app_terminal', message: `app ${f.app_id} is ${row.status} and cannot resume` });
    const tier = (row.sec_level ?? 'open') as SecLevel;
    if (tier === 'full' && !state.conn.secure) return this.refuse(state, f.app_id, { code: 'tier_requires_tls', message: 'a full-tier app must connect over wss://' });
    let key: KeyObject | null = null;
    if (tier !== 'open') {
      key = publicKeyObject(decodePublicKey(f.pub_key)!);
      const bad = this.checkSignedControlFrame(f, raw, key, row.last_auth_ts);
      if (bad) return this.refuse(state, f.app_id, bad);
    }
    const app = this.newLive(state, f.app_id, row.parent_id, row.namespace, tier, f.pub_key, tier === 'encrypted' ? null : key, this.highSeqOf(f.app_id, row));
    const sealing = this.seal(state, app, f.child_ephemeral);
    if ('code' in sealing) return this.refuse(state, f.app_id, sealing);
    app.status = 'running';
    app.lastAuthTs = f.timestamp ?? row.last_auth_ts;
    const now = this.hub.nowIso();
    this.hub.bind(app);
    this.hub.deps.committer.enqueue(
      (w) => {
        w.updateApp(f.app_id, {
          status: 'running',
          connected_at: now,
          disconnected_at: null,
          server_instance: this.hub.options.serverInstance,
          last_auth_ts: app.lastAuthTs,
          updated_at: now,
          ...(keyUse === 'rotated' ? { pub_key: f.pub_key, metadata_json: withoutRotation(row.metadata_json) } : {}),
          ...(hasDeparture(row.metadata_json) ? { metadata_json: withoutDeparture(keyUse === 'rotated' ? withoutRotation(row.metadata_json) : row.metadata_json) } : {}),
        });
        if (keyUse === 'rotated') this.repin(w, f.app_id, f.pub_key);
      },
      this.answerRegistered(state, app, sealing.answer),
    );
  }

  disconnect(state: ConnState, f: DisconnectFrame, raw: SignedFrame): void {
    const app = this.hub.liveApp(f.app_id);
    if (!app || app.conn !== state) return this.refuse(state, f.app_id, { code: 'not_registered', message: `app ${f.app_id} is not registered on this connection` });
    if (app.pubKey) {
      const bad = this.checkSignedControlFrame(f, raw, app.pubKey, app.lastAuthTs);
      if (bad) return this.refuse(state, f.app_id, bad);
    }
    const status = isTerminal(app.status) ? app.status : statusAfterDisconnect(f.reason);
    const now = this.hub.nowIso();
    app.status = status;
    this.hub.unbind(app);
    this.hub.deps.committer.enqueue(
      (w) => w.updateApp(f.app_id, { status, disconnected_at: now, last_auth_ts: f.timestamp ?? app.lastAuthTs, updated_at: now }),
      (err) => {
        if (err) return this.hub.reject(state, 'storage_unavailable', `disconnect not stored: ${err.message}`, { app_id: f.app_id });
        this.emitStatus(app, now, status);
        this.hub.closeIfIdle(state, 'disconnected');
      },
    );
  }

  /** A connection ended without disconnect: connected/running apps crashed (spec §7). */
  markCrashed(app: LiveApp, crashType: CrashType): void {
    if (app.status !== 'connected' && app.status !== 'running') return;
    if (this.switchingKey(app)) return this.markSwitching(app);
    const now = this.hub.nowIso();
    app.status = 'crashed';
    this.hub.deps.committer.enqueue(
      (w) => {
        w.updateApp(app.appId, { status: 'crashed', disconnected_at: now, updated_at: now });
        w.insertCrash({ app_id: app.appId, detected_at: now, crash_type: crashType, gap_seconds: null, metadata_json: { last_seq: app.highSeq } });
      },
      (err) => {
        if (err) return;
        this.emitStatus(app, now, 'crashed');
        const e = this.hub.deps.events;
        e.emit({ type: 'crash', app_id: app.appId, parent_id: app.parentId, namespace: app.namespace, at: now, crash_type: crashType });
      },
    );
  }

  /**
   * A device whose own key rotation is due leaves to come back with its new
   * key: a planned departure, like an acked migrate, so lost_contact and no crash.
   */
  private switchingKey(app: LiveApp): boolean {
    const row = this.hub.deps.store.getApp(app.appId);
    if (!row) return false;
    const rot = (row.metadata_json as { key_rotation?: { effective_after?: string } } | null)?.key_rotation;
    const at = rot?.effective_after ? Date.parse(rot.effective_after) : NaN;
    return Number.isFinite(at) && this.hub.now() >= at - KEY_ROTATION_SKEW_MS;
  }

  private markSwitching(app: LiveApp): void {
    const now = this.hub.nowIso();
    app.status = 'lost_contact';
    this.hub.deps.committer.enqueue(
      (w) => w.updateApp(app.appId, { status: 'lost_contact', disconnected_at: now, updated_at: now }),
      (err) => err || this.emitStatus(app, now, 'lost_contact'),
    );
  }

  // ── checks ────────────────────────────────────────────────────────

  /**
   * The registration gate (join-gate.ts). A declared or claimed app (a
   * scheduled row) was invited by its parent or owner; a signed app proves
   * its key by signature. Everything else needs the join token of the app
   * at its place in the tree: a new app, and an open-tier app resuming (its
   * key text travels in clear, so the key alone proves nothing).
   */
  private checkJoin(state: ConnState, appId: string, existing: AppRow | undefined, parentId: string | null, tier: SecLevel, inFrame: string | null | undefined): Refusal | undefined {
    const o = this.hub.options;
    if (o.registration !== 'gated') return undefined;
    if (existing?.status === 'scheduled') return undefined;
    if (existing && tier !== 'open') return undefined;
    const where = existing ? (existing.parent_id ?? null) : parentId;
    const token = inFrame ?? state.conn.joinToken;
    if (o.householdKey && joinTokenValid(o.householdKey, appId, where, token)) return undefined;
    this.hub.bootstrap.stats.joinRefused++;
    return {
      code: 'join_required',
      message: existing
        ? `app ${appId} is open-tier: resuming it needs its join token (?join= in serverEp, or "join" in the frame)`
        : `app ${appId} was neither declared nor claimed: registering it needs a join token from this household (trails child-info, or POST /api/v1/join-tokens)`,
    };
  }

  private checkRegisterAuth(state: ConnState, f: RegisterFrame, raw: SignedFrame, tier: SecLevel, lastTs: number): { key: KeyObject | null } | Refusal {
    if (SEC_RANK[tier] < SEC_RANK[this.hub.options.minSecLevel]) {
      return { code: 'tier_mismatch', message: `this gateway accepts ${this.hub.options.minSecLevel} tier or above, not ${tier}` };
    }
    if (tier === 'full' && !state.conn.secure) return { code: 'tier_requires_tls', message: 'the full tier requires wss://' };
    if (tier === 'open') return { key: null };
    const keyBytes = decodePublicKey(f.child_pub_key);
    if (!keyBytes) return { code: 'bad_frame', message: '"child_pub_key" must be ed25519: + base64 of 32 bytes' };
    const key = publicKeyObject(keyBytes);
    const bad = this.checkSignedControlFrame(f, raw, key, lastTs);
    return bad ?? { key };
  }

  private checkRegisterTarget(state: ConnState, f: RegisterFrame, tier: SecLevel, existing: AppRow | undefined): Refusal | undefined {
    if (!existing) {
      if (f.parent_id && !this.current(f.parent_id)) return { code: 'unknown_parent', message: `parent ${f.parent_id} is not known to this gateway` };
      return undefined;
    }
    if (existing.status === 'scheduled') {
      // Declared (or claimed) at one place in the tree: the device lands there or nowhere.
      if ((f.parent_id ?? null) !== (existing.parent_id ?? null)) {
        return { code: 'parent_mismatch', message: `app ${f.app_id} was declared under ${existing.parent_id ?? 'no parent'}, not ${f.parent_id ?? 'no parent'}` };
      }
      const wanted = (existing.sec_level ?? 'open') as SecLevel;
      if (SEC_RANK[tier] < SEC_RANK[wanted]) return { code: 'tier_mismatch', message: `app ${f.app_id} was declared ${wanted}; register at that tier` };
      return undefined;
    }
    // A declared child cancelled (or withdrawn) before it ever registered has no key yet: it is over, not owned.
    if (existing.pub_key == null && !canResume(existing.status)) return { code: 'app_terminal', message: `app ${f.app_id} is already ${existing.status}` };
    if (this.keyCheck(existing, f.child_pub_key) === 'no') return this.owned(state, existing, f.child_pub_key);
    const had = (existing.sec_level ?? 'open') as SecLevel;
    if (SEC_RANK[tier] < SEC_RANK[had]) return { code: 'tier_mismatch', message: `app ${f.app_id} is ${had}; it is never accepted at a lower tier` };
    if (!canResume(existing.status)) return { code: 'app_terminal', message: `app ${f.app_id} is already ${existing.status}` };
    const live = this.hub.liveApp(f.app_id);
    if (live && live.conn === state) return { code: 'already_registered', message: `app ${f.app_id} is already registered on this connection` };
    return undefined;
  }

  /** The app's key, or during a rotate_keys of the device's own key the new one from its effectiveAfter on. */
  private keyCheck(row: AppRow, presented: string): 'current' | 'rotated' | 'no' {
    return keyAllowed(row, presented, this.hub.now(), KEY_ROTATION_SKEW_MS);
  }

  /** After a rotation the first-contact pin follows the device to its new key. */
  private repin(w: StoreWriter, appId: string, newKey: string): void {
    const pin = this.hub.deps.store.bootstrapDeviceByApp(appId);
    if (!pin || pin.child_pub_key === newKey) return;
    w.deleteBootstrapDevice(pin.child_pub_key);
    w.insertBootstrapDevice({ ...pin, child_pub_key: newKey });
  }

  /**
   * Another key for a registered app: trust on first use says the key seen
   * first is the app's, so this is refused, and raised as an alert with an
   * audit row (a cloned or swapped device, or a key change without rotate_keys).
   */
  private owned(state: ConnState, row: AppRow, presented: string): Refusal {
    const at = this.hub.nowIso();
    const remote = state.conn.remote;
    const pinned = row.pub_key ?? '';
    this.hub.auditRefusal(
      {
        timestamp: at, action: 'register', target_app_id: row.app_id, cascade: false, payload_json: { presented_key: presented, pinned_key: pinned },
        auth_domain: 'device', source_app_id: null, oauth_subject: null, source_ip: remote, user_agent: null, outcome: 'refused:app_owned',
      },
      presented,
    );
    this.hub.deps.events.emit({ type: 'alert', kind: 'key_mismatch', app_id: row.app_id, parent_id: row.parent_id, namespace: row.namespace, at, mac: null, presented_key: presented, pinned_key: pinned, remote });
    return { code: 'app_owned', message: `app ${row.app_id} is registered with another key` };
  }

  /** Signature, then the replay window: fresh, and newer than the last accepted one. */
  private checkSignedControlFrame(f: { timestamp?: number | null; sig?: string | null }, raw: SignedFrame, key: KeyObject, lastTs: number): Refusal | undefined {
    if (!f.sig) return { code: 'tier_mismatch', message: 'this app is signed: the frame must carry "sig"' };
    if (!verifyFrame(raw, key)) return { code: 'bad_signature', message: 'signature does not verify' };
    if (f.timestamp == null) return { code: 'bad_frame', message: 'a signed frame must carry "timestamp"' };
    if (Math.abs(this.hub.now() - f.timestamp) > this.hub.options.timestampSkewMs) {
      return { code: 'stale_timestamp', message: 'timestamp is outside the accepted clock skew' };
    }
    if (f.timestamp <= lastTs) return { code: 'stale_timestamp', message: 'timestamp is not newer than the last accepted frame (replay?)' };
    return undefined;
  }

  // ── helpers ───────────────────────────────────────────────────────

  /** The live view wins over the store: it includes writes not yet committed. */
  private current(appId: string): AppRow | undefined {
    const row = this.hub.deps.store.getApp(appId);
    const live = this.hub.liveApp(appId);
    if (!live) return row;
    const base = row ?? ({ app_id: appId, parent_id: live.parentId, namespace: live.namespace } as AppRow);
    return { ...base, status: live.status, pub_key: live.pubKeyText, sec_level: live.secLevel, last_seq: live.highSeq, last_auth_ts: live.lastAuthTs };
  }

  /** The highest stored seq: the live view when bound, else the messages table (apps.last_seq may lag it). */
  private highSeqOf(appId: string, row: AppRow | undefined): number {
    const live = this.hub.liveApp(appId);
    if (live) return live.highSeq;
    if (!row || row.status === 'scheduled') return row?.last_seq ?? 0;
    return Math.max(row.last_seq, this.hub.deps.store.maxSeq(appId));
  }

  private newLive(state: ConnState, appId: string, parentId: string | null, namespace: string | null, secLevel: SecLevel, pubKeyText: string, pubKey: KeyObject | null, lastSeq: number): LiveApp {
    const gaps = lastSeq > 0 ? this.hub.deps.store.seqGaps(appId).map((g) => ({ from: g.from_seq, to: g.to_seq })) : [];
    const pubKeyRaw = pubKey ? (decodePublicKey(pubKeyText) ?? null) : null;
    return { appId, parentId, namespace, secLevel, pubKeyText, pubKey, pubKeyRaw, status: 'connected', highSeq: lastSeq, committedSeq: lastSeq, storedSeq: lastSeq, lastAuthTs: 0, uncommitted: new Map(), gaps, prunedTo: 0, conn: state };
  }

  /**
   * Encrypted tier: one app per connection, and a fresh session from the
   * device's ephemeral key. The connection is sealed at once, so nothing in
   * plain text is accepted for it from here on.
   */
  private seal(state: ConnState, app: LiveApp, childEphemeral: string | null | undefined): Refusal | { answer?: { server_ephemeral: string; child_ephemeral: string } } {
    if (app.secLevel !== 'encrypted') return {};
    if ([...state.apps].some((id) => id !== app.appId)) {
      return { code: 'tier_mismatch', message: 'an encrypted app needs a connection of its own' };
    }
    const hs = acceptHandshake(this.hub.deps.identity, app.appId, app.pubKeyText, childEphemeral);
    if (!hs.ok) return { code: 'bad_frame', message: hs.message };
    app.sealed = hs.channel;
    state.sealedApp = app.appId;
    return { answer: { server_ephemeral: hs.serverEphemeral, child_ephemeral: childEphemeral! } };
  }

  /** Returns the commit callback; what it reports is captured now, before later frames move the app on. */
  private answerRegistered(state: ConnState, app: LiveApp, handshake?: { server_ephemeral: string; child_ephemeral: string }): (err?: Error) => void {
    const lastSeq = app.highSeq;
    const status = app.status;
    return (err) => {
      if (err) {
        this.hub.unbind(app);
        return this.hub.reject(state, 'storage_unavailable', `registration not stored: ${err.message}`, { app_id: app.appId });
      }
      const { identity } = this.hub.deps;
      const frame = { type: 'registered' as const, app_id: app.appId, server_pub_key: identity.publicKeyText, last_seq: lastSeq, sec_level: app.secLevel, ...handshake };
      // Open-tier apps (the reference clients) get it unsigned, as the reference sends it.
      this.hub.send(state, app.secLevel === 'open' ? frame : identity.sign(frame));
      this.emitStatus(app, this.hub.nowIso(), status);
      this.hub.controls.deliverPending(app);
    };
  }

  private emitStatus(app: LiveApp, at: string, status = app.status): void {
    this.hub.deps.events.emit({ type: 'app_status', app_id: app.appId, parent_id: app.parentId, namespace: app.namespace, at, status });
  }

  private refuse(state: ConnState, appId: string, r: Refusal): void {
    this.hub.reject(state, r.code, r.message, { app_id: appId });
  }
}
