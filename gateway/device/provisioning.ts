/**
 * Claims and their provision (addendum 0 §A0.3; docs/PROTOCOL.md "Claim and
 * provision"): a claim creates the device's app and owes the device a
 * provision control, delivered on its bootstrap socket now or at its next
 * first contact, and answered there with a control_response signed by the
 * device key. Part of the bootstrap tier (bootstrap.ts owns the sockets).
 */
import { randomUUID } from 'node:crypto';
import type { ControlFrame, ControlResponseFrame } from '../../protocol/frames.js';
import { CloseCode } from '../../protocol/frames.js';
import { verifyFrame } from '../crypto/frame-signing.js';
import type { BootstrapDeviceRow } from '../store/bootstrap-types.js';
import type { BootstrapStats, ClaimOutcome, ClaimRequest } from './bootstrap-types.js';
import type { ProvisioningContext, Provisions } from './hub-context.js';
import type { ConnState, SignedFrame } from './hub-types.js';

export type { ClaimOutcome, ClaimRequest };

export class ProvisionDelivery implements Provisions {
  constructor(
    private readonly hub: ProvisioningContext,
    private readonly stats: BootstrapStats,
    private readonly linkOf: (childPubKey: string) => ConnState | undefined,
  ) {}

  /**
   * Records a claim and delivers its provision. Conflicts are re-checked
   * inside the write: two claims of one device in one turn cannot both win.
   */
  claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const { store, committer } = this.hub.deps;
    const now = this.hub.nowIso();
    const key = req.device.child_pub_key;
    const correlationId = randomUUID();
    let conflict: string | undefined;
    let released: string[] = [];
    return new Promise((resolve) => {
      committer.enqueue(
        (w) => {
          const cur = store.getBootstrapDevice(key);
          if (!cur || cur.status !== 'awaiting') return void (conflict = `device ${req.device.mac} is ${cur?.status ?? 'gone'}`);
          if (store.getApp(req.appId)) return void (conflict = `app ${req.appId} already exists`);
          const pin = store.pinnedBootstrapDevice(cur.mac, cur.parent_pub_key);
          if (pin) return void (conflict = `MAC ${cur.mac} is already claimed under this parent key, as app ${pin.claimed_app_id}`);
          // The claim is the pin: rival first contacts of this MAC under the same parent key can never be claimed now.
          released = store.bootstrapDevicesByMac(cur.mac, cur.parent_pub_key).filter((o) => o.child_pub_key !== key && o.status !== 'claimed').map((o) => o.child_pub_key);
          for (const k of released) w.deleteBootstrapDevice(k);
          w.insertApp({
            app_id: req.appId, parent_id: req.parent.app_id, app_name: req.appName, status: 'scheduled',
            namespace: req.parent.namespace, sec_level: req.payload.secLevel, role_refs: req.roleRefs, pub_key: key,
            // No start deadline: the device may be offline for long; the claim is withdrawn like any declared child.
            start_deadline: null,
            metadata_json: { bootstrap: { mac: cur.mac, chip: cur.chip, firmware: cur.firmware, flash_id: cur.flash_id, claimed_at: now } },
            created_at: now, updated_at: now,
          });
          w.updateBootstrapDevice(key, {
            status: 'claimed', claimed_app_id: req.appId, claimed_parent_id: req.parent.app_id, claimed_by: req.claimedBy, claimed_at: now,
            provision_json: req.payload, provision_correlation_id: correlationId, provision_status: 'queued',
          });
        },
        (err) => {
          if (err || conflict) return resolve({ ok: false, conflict: conflict ?? `not stored: ${err!.message}` });
          this.hub.deps.events.emit({ type: 'app_status', app_id: req.appId, parent_id: req.parent.app_id, namespace: req.parent.namespace, at: now, status: 'scheduled' });
          for (const k of released) this.linkOf(k)?.conn.close(CloseCode.keyMismatch, 'another key was claimed for this MAC');
          const link = this.linkOf(key);
          const row = store.getBootstrapDevice(key)!;
          if (link) this.send(link, row);
          resolve({ ok: true, device: store.getBootstrapDevice(key) ?? row, released });
        },
      );
    });
  }

  /**
   * The provision is a control frame (ControlFrame shape) with app_id the
   * assigned app, signed by the gateway key. Its correlation lives in
   * bootstrap_devices, not control_queue: the app has no socket of its own
   * yet, and a queued row there would be re-sent to the operating device.
   */
  send(state: ConnState, row: BootstrapDeviceRow): void {
    const now = this.hub.now();
    const frame: ControlFrame = this.hub.deps.identity.sign({
      type: 'control' as const,
      app_id: row.claimed_app_id!,
      action: 'provision',
      correlation_id: row.provision_correlation_id!,
      payload: row.provision_json,
      issued_at: now,
      expires_at: now + this.hub.options.controlTtlMs,
    });
    this.hub.send(state, frame);
    this.stats.provisionsSent++;
    if (row.provision_status === 'queued') {
      this.hub.deps.committer.enqueue((w) => w.updateBootstrapDevice(row.child_pub_key, { provision_status: 'sent' }));
    }
  }

  onAnswer(state: ConnState, f: ControlResponseFrame, raw: SignedFrame): void {
    const link = state.bootstrap!;
    const ctx = { app_id: f.app_id, correlation_id: f.correlation_id };
    const row = this.hub.deps.store.getBootstrapDevice(link.childPubKey);
    if (!row || row.provision_correlation_id !== f.correlation_id || row.claimed_app_id !== f.app_id) {
      return this.hub.reject(state, 'unknown_correlation', `no provision ${f.correlation_id} is owed to this device`, ctx);
    }
    if (!verifyFrame(raw, link.key)) return this.hub.reject(state, 'bad_signature', 'control_response must be signed with the device key', ctx);
    const ts = f.timestamp ?? 0;
    if (Math.abs(this.hub.now() - ts) > this.hub.options.timestampSkewMs || ts <= link.lastAuthTs) {
      return this.hub.reject(state, 'stale_timestamp', 'control_response timestamp is stale or replayed', ctx);
    }
    link.lastAuthTs = ts;
    const at = this.hub.nowIso();
    const response = { ack: f.ack, ...(f.result !== undefined ? { result: f.result } : {}), ...(f.error ? { error: f.error } : {}) };
    this.hub.deps.committer.enqueue(
      (w) => {
        if (f.ack) w.updateBootstrapDevice(link.childPubKey, { provision_status: 'acked', last_seen: at });
        w.insertAudit({
          timestamp: at, action: 'provision', target_app_id: f.app_id, cascade: false, payload_json: { mac: row.mac, correlation_id: f.correlation_id, response },
          auth_domain: 'device', source_app_id: null, oauth_subject: null, source_ip: state.conn.remote, user_agent: null, outcome: f.ack ? 'acked' : 'refused_by_device',
        });
      },
      (err) => {
        if (err || !f.ack) return;
        this.stats.provisionsAcked++;
        this.hub.deps.events.emit({ type: 'control', app_id: f.app_id, parent_id: row.claimed_parent_id, namespace: null, at, correlation_id: f.correlation_id, action: 'provision', status: 'answered', result: response });
      },
    );
  }
}
