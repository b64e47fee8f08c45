/**
 * The write side of SqliteStore. It only ever runs inside a transaction the
 * store opened, so each method is plain statements; atomicity and the fsync
 * come from the enclosing transaction.
 */
import type Database from 'better-sqlite3';
import type {
  AppPatch,
  AppStatus,
  AuditPrune,
  ControlPatch,
  NewApp,
  NewAudit,
  NewControl,
  NewCrash,
  NewMessage,
  SeqGapRow,
  SeqRange,
  StoreWriter,
} from '../types.js';
import {
  APP_COLUMNS,
  appParams,
  appPatchEntries,
  BY_APP,
  controlPatchEntries,
  encodeAppValue,
  gapFromRow,
  jsonText,
  newAppRow,
  nowIso,
} from './rows.js';
import { SqliteBootstrapWriter } from './bootstrap-sql.js';
import type { BootstrapDeviceRow, BootstrapPatch, ClaimIntentRow } from '../bootstrap-types.js';

type Stmt = Database.Statement;

// app_ref: the app's number in messages (migration 8), given once and never changed.
const INSERT_APP = `INSERT INTO apps (${APP_COLUMNS.join(', ')}, app_ref)
  VALUES (${APP_COLUMNS.map(() => '?').join(', ')}, (SELECT IFNULL(MAX(app_ref), 0) + 1 FROM apps))`;

export class SqliteWriter implements StoreWriter {
  // Hot paths (every data frame) hold their statements directly.
  private readonly insMessage: Stmt;
  private readonly delSnapshots: Stmt;
  /** UPDATE statements keyed by the set of patched columns, each prepared once. */
  private readonly appUpdates = new Map<string, Stmt>();
  private readonly controlUpdates = new Map<string, Stmt>();
  private readonly boot: SqliteBootstrapWriter;

  constructor(private readonly q: (sql: string) => Stmt) {
    this.boot = new SqliteBootstrapWriter(q);
    this.insMessage = q(
      `INSERT INTO messages (app_id, direction, msg_type, seq, correlation_id, payload_json, created_at, app_ref)
       VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT app_ref FROM apps WHERE app_id = ?))`,
    );
    this.delSnapshots = q(
      `DELETE FROM messages WHERE ${BY_APP} AND direction = 'in' AND seq > ? AND seq <= ? AND msg_type = 'Status'`,
    );
  }

  insertApp(app: NewApp): void {
    this.q(INSERT_APP).run(appParams(newAppRow(app, nowIso())));
  }

  updateApp(appId: string, patch: AppPatch): void {
    const entries = appPatchEntries(patch);
    const key = entries.map(([c]) => c).join(',');
    let stmt = this.appUpdates.get(key);
    if (!stmt) {
      const sets = entries.map(([c]) => `${c} = ?`).concat('updated_at = ?');
      stmt = this.q(`UPDATE apps SET ${sets.join(', ')} WHERE app_id = ?`);
      this.appUpdates.set(key, stmt);
    }
    const values = entries.map(([c, v]) => encodeAppValue(c, v));
    stmt.run(...values, patch.updated_at ?? nowIso(), appId);
  }

  deleteApp(appId: string): void {
    // messages, snapshots, crashes, controls and gaps go with it (ON DELETE CASCADE).
    this.q('DELETE FROM apps WHERE app_id = ?').run(appId);
  }

  insertMessage(m: NewMessage): void {
    this.insMessage.run(
      m.app_id, m.direction, m.msg_type, m.seq, m.correlation_id ?? null, m.payload_text ?? jsonText(m.payload_json), m.created_at, m.app_id,
    );
  }

  insertCrash(c: NewCrash): void {
    this.q(
      'INSERT INTO crashes (app_id, detected_at, crash_type, gap_seconds, metadata_json) VALUES (?, ?, ?, ?, ?)',
    ).run(c.app_id, c.detected_at, c.crash_type, c.gap_seconds ?? null, jsonText(c.metadata_json));
  }

  insertSeqGap(g: SeqGapRow): void {
    this.q('INSERT INTO seq_gaps (app_id, from_seq, to_seq, detected_at) VALUES (?, ?, ?, ?)').run(
      g.app_id, g.from_seq, g.to_seq, g.detected_at,
    );
  }

  fillSeqGap(appId: string, seq: number): boolean {
    const raw = this.q(
      `SELECT * FROM seq_gaps WHERE app_id = ? AND from_seq <= ? AND to_seq >= ?
       ORDER BY from_seq LIMIT 1`,
    ).get(appId, seq, seq) as Record<string, unknown> | undefined;
    if (!raw) return false;
    const g = gapFromRow(raw);
    this.q('DELETE FROM seq_gaps WHERE app_id = ? AND from_seq = ?').run(appId, g.from_seq);
    // The parts either side of `seq` are still missing and keep their detection time.
    if (g.from_seq < seq) this.insertSeqGap({ ...g, to_seq: seq - 1 });
    if (seq < g.to_seq) this.insertSeqGap({ ...g, from_seq: seq + 1 });
    return true;
  }

  insertControl(c: NewControl): number {
    const info = this.q(
      `INSERT INTO control_queue (app_id, action, payload_json, correlation_id, status, origin, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.app_id, c.action, jsonText(c.payload_json), c.correlation_id, c.status, c.origin, c.created_at, c.expires_at);
    return Number(info.lastInsertRowid);
  }

  updateControl(id: number, patch: ControlPatch): void {
    const entries = controlPatchEntries(patch);
    if (entries.length === 0) return;
    const key = entries.map(([c]) => c).join(',');
    let stmt = this.controlUpdates.get(key);
    if (!stmt) {
      stmt = this.q(`UPDATE control_queue SET ${entries.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`);
      this.controlUpdates.set(key, stmt);
    }
    const values = entries.map(([c, v]) => (c === 'ack_result_json' ? jsonText(v as never) : v ?? null));
    stmt.run(...values, id);
  }

  insertAudit(a: NewAudit): void {
    this.q(
      `INSERT INTO audit_log (timestamp, action, target_app_id, cascade, payload_json, auth_domain,
         source_app_id, oauth_subject, source_ip, user_agent, outcome, count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      a.timestamp, a.action, a.target_app_id ?? null, a.cascade ? 1 : 0, jsonText(a.payload_json), a.auth_domain,
      a.source_app_id ?? null, a.oauth_subject ?? null, a.source_ip ?? null, a.user_agent ?? null, a.outcome, a.count ?? 1,
    );
  }

  pruneAudit(p: AuditPrune): number {
    if (!(p.limit > 0)) return 0;
    // By age first, through idx_audit_time: only the rows deleted are read.
    let left = p.limit;
    left -= this.q(
      'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE timestamp < ? ORDER BY timestamp LIMIT ?)',
    ).run(p.olderThan, left).changes;
    if (left === 0) return p.limit;
    // Ids are never reused (AUTOINCREMENT), so the rows with an id above
    // max(id) - keepRows are at most keepRows: no count(*) over the table.
    const maxId = (this.q('SELECT MAX(id) FROM audit_log').pluck().get() as number | null) ?? 0;
    const cutoff = maxId - p.keepRows;
    if (cutoff > 0) {
      left -= this.q('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id <= ? ORDER BY id LIMIT ?)').run(cutoff, left).changes;
    }
    return p.limit - left;
  }

  pruneSnapshots(appId: string, range: SeqRange): number {
    if (!(range.upTo > range.after)) return 0;
    // Only inbound Status rows (the snapshots) are superseded by newer ones;
    // Result, Error and Control rows are the record of what happened and stay.
    // The seq range walks idx_messages_seq, touching only the rows it deletes.
    return this.delSnapshots.run(appId, range.after, range.upTo).changes;
  }

  claimNonce(keyText: string, nonce: string, expiresAt: number, now: number): boolean {
    // An expired row left by a late prune is taken over, not treated as a replay.
    const info = this.q(
      `INSERT INTO request_nonces (key_text, nonce, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key_text, nonce) DO UPDATE SET expires_at = excluded.expires_at
       WHERE request_nonces.expires_at <= ?`,
    ).run(keyText, nonce, expiresAt, now);
    return info.changes === 1;
  }

  pruneNonces(now: number): number {
    return this.q('DELETE FROM request_nonces WHERE expires_at <= ?').run(now).changes;
  }

  moveStatus(instance: string, from: readonly AppStatus[], to: AppStatus, at: string): string[] {
    if (from.length === 0) return [];
    // json_each keeps one prepared statement for any number of source statuses.
    const fromJson = JSON.stringify(from);
    const ids = this.q(
      `SELECT app_id FROM apps WHERE server_instance = ? AND status IN (SELECT value FROM json_each(?))
       ORDER BY created_at, rowid`,
    )
      .pluck()
      .all(instance, fromJson) as string[];
    if (ids.length === 0) return [];
    this.q(
      `UPDATE apps SET status = ?, updated_at = ?
       WHERE server_instance = ? AND status IN (SELECT value FROM json_each(?))`,
    ).run(to, at, instance, fromJson);
    return ids;
  }

  // ── bootstrap tier (bootstrap-sql.ts) ──
  insertBootstrapDevice(row: BootstrapDeviceRow): void {
    this.boot.insertBootstrapDevice(row);
  }

  updateBootstrapDevice(childPubKey: string, patch: BootstrapPatch): void {
    this.boot.updateBootstrapDevice(childPubKey, patch);
  }

  deleteBootstrapDevice(childPubKey: string): boolean {
    return this.boot.deleteBootstrapDevice(childPubKey);
  }

  expireBootstrapDevices(now: string): string[] {
    return this.boot.expireBootstrapDevices(now);
  }

  deleteExpiredBootstrapDevices(before: string): number {
    return this.boot.deleteExpiredBootstrapDevices(before);
  }

  putClaimIntent(row: ClaimIntentRow): void {
    this.boot.putClaimIntent(row);
  }

  deleteClaimIntent(parentPubKey: string): boolean {
    return this.boot.deleteClaimIntent(parentPubKey);
  }
}
