/**
 * MemoryStore's state and write side. Every write checks all its constraints
 * before it changes anything, so a throw leaves no trace, as a failed SQLite
 * statement leaves none.
 */
import type {
  AppPatch,
  AppRow,
  AppStatus,
  AuditPrune,
  AuditRow,
  ControlPatch,
  ControlRow,
  CrashRow,
  MessageRow,
  NewApp,
  NewAudit,
  NewControl,
  NewCrash,
  NewMessage,
  SeqGapRow,
  SeqRange,
  SnapshotRow,
  StoreWriter,
} from '../types.js';
import {
  APP_STATUSES,
  CONTROL_STATUSES,
  CRASH_TYPES,
  DIRECTIONS,
  MESSAGE_TYPES,
  appPatchEntries,
  controlPatchEntries,
  jsonCopy,
  newAppRow,
  nowIso,
} from '../sqlite/rows.js';
import type { BootstrapDeviceRow, BootstrapPatch, ClaimIntentRow } from '../bootstrap-types.js';
import { bootstrapWrite, type BootstrapState } from './memory-bootstrap.js';

export interface State extends BootstrapState {
  apps: Map<string, AppRow>;
  messages: Map<number, MessageRow>;
  /** The unique index on messages(app_id, direction, seq), keyed by seqKey. */
  bySeq: Map<string, number>;
  crashes: Map<number, CrashRow>;
  gaps: Map<string, SeqGapRow>;
  controls: Map<number, ControlRow>;
  audit: Map<number, AuditRow>;
  meta: Map<string, string>;
  /** request_nonces: key_text + NUL + nonce → expires_at (ms). */
  nonces: Map<string, number>;
  /** AUTOINCREMENT counters; restored with the rest on rollback, as sqlite_sequence is. */
  next: { messages: number; crashes: number; controls: number; audit: number };
}

export function emptyState(): State {
  const next = { messages: 1, crashes: 1, controls: 1, audit: 1 };
  return {
    apps: new Map(), messages: new Map(), bySeq: new Map(), crashes: new Map(),
    gaps: new Map(), controls: new Map(), audit: new Map(), meta: new Map(), nonces: new Map(), next,
    bootstrap: new Map(), intents: new Map(),
  };
}

export function cloneState(s: State): State {
  return {
    apps: new Map(s.apps), messages: new Map(s.messages), bySeq: new Map(s.bySeq),
    crashes: new Map(s.crashes), gaps: new Map(s.gaps),
    controls: new Map(s.controls), audit: new Map(s.audit), meta: new Map(s.meta), nonces: new Map(s.nonces),
    bootstrap: new Map(s.bootstrap), intents: new Map(s.intents),
    next: { ...s.next },
  };
}

export const key = (appId: string, n: number): string => `${appId}\u0000${n}`;
export const seqKey = (m: Pick<MessageRow, 'app_id' | 'direction' | 'seq'>): string => `${m.app_id}\u0000${m.direction}\u0000${m.seq}`;
export const byCreated = (a: AppRow, b: AppRow): number => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);
export const newestFirst = <T extends { id: number }>(at: (r: T) => string) => (a: T, b: T): number =>
  at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : b.id - a.id;

function fail(kind: string, what: string): never {
  // Same wording as SQLite's, so tests can match either store with one pattern.
  throw new Error(`${kind} constraint failed: ${what}`);
}
function notNull(table: string, row: object, cols: readonly string[]): void {
  for (const c of cols) if ((row as Record<string, unknown>)[c] == null) fail('NOT NULL', `${table}.${c}`);
}
function oneOf<T>(v: T, allowed: readonly T[], what: string): void {
  if (!allowed.includes(v)) fail('CHECK', what);
}
function checkApp(a: AppRow): void {
  notNull('apps', a, ['app_id', 'app_name', 'status', 'created_at', 'updated_at', 'last_seq', 'last_auth_ts']);
  oneOf(a.status, APP_STATUSES, 'apps.status');
  if (a.sec_level !== null) oneOf(a.sec_level, ['open', 'signed', 'encrypted', 'full'], 'apps.sec_level');
}

export class MemoryWriter implements StoreWriter {
  constructor(private readonly st: () => State) {}

  private needApp(s: State, appId: string): void {
    if (!s.apps.has(appId)) fail('FOREIGN KEY', `no app ${appId}`);
  }

  insertApp(app: NewApp): void {
    const s = this.st();
    const row = jsonCopy(newAppRow(app, nowIso()));
    checkApp(row);
    if (s.apps.has(row.app_id)) fail('UNIQUE', 'apps.app_id');
    s.apps.set(row.app_id, row);
  }

  updateApp(appId: string, patch: AppPatch): void {
    const s = this.st();
    const entries = appPatchEntries(patch);
    const old = s.apps.get(appId);
    if (!old) return; // like an UPDATE that matches no row
    const row = { ...old, ...jsonCopy(Object.fromEntries(entries)), updated_at: patch.updated_at ?? nowIso() } as AppRow;
    checkApp(row);
    s.apps.set(appId, row);
  }

  deleteApp(appId: string): void {
    const s = this.st();
    if (!s.apps.delete(appId)) return;
    // What ON DELETE CASCADE removes on SQLite; audit rows and child apps stay.
    for (const m of [...s.messages.values()]) {
      if (m.app_id !== appId) continue;
      s.messages.delete(m.id);
      s.bySeq.delete(seqKey(m));
    }
    for (const t of [s.crashes, s.controls] as Array<Map<number, { app_id: string }>>) {
      for (const [id, r] of [...t]) if (r.app_id === appId) t.delete(id);
    }
    for (const [k, g] of [...s.gaps]) if (g.app_id === appId) s.gaps.delete(k);
  }

  insertMessage(m: NewMessage): void {
    const s = this.st();
    const row: MessageRow = {
      id: s.next.messages, app_id: m.app_id, direction: m.direction, msg_type: m.msg_type, seq: m.seq,
      correlation_id: m.correlation_id ?? null, payload_json: jsonCopy(m.payload_json), created_at: m.created_at,
    };
    notNull('messages', row, ['app_id', 'direction', 'msg_type', 'seq', 'created_at']);
    oneOf(row.direction, DIRECTIONS, 'messages.direction');
    oneOf(row.msg_type, MESSAGE_TYPES, 'messages.msg_type');
    this.needApp(s, row.app_id);
    const k = seqKey(row);
    if (s.bySeq.has(k)) fail('UNIQUE', 'messages.app_id, messages.direction, messages.seq');
    s.next.messages++;
    s.messages.set(row.id, row);
    s.bySeq.set(k, row.id);
  }

  insertCrash(c: NewCrash): void {
    const s = this.st();
    const row: CrashRow = {
      id: s.next.crashes, app_id: c.app_id, detected_at: c.detected_at, crash_type: c.crash_type,
      gap_seconds: c.gap_seconds ?? null, metadata_json: jsonCopy(c.metadata_json),
    };
    notNull('crashes', row, ['app_id', 'detected_at', 'crash_type']);
    oneOf(row.crash_type, CRASH_TYPES, 'crashes.crash_type');
    this.needApp(s, row.app_id);
    s.crashes.set(s.next.crashes++, row);
  }

  insertSeqGap(g: SeqGapRow): void {
    const s = this.st();
    notNull('seq_gaps', g, ['app_id', 'from_seq', 'to_seq', 'detected_at']);
    if (g.from_seq > g.to_seq) fail('CHECK', 'from_seq <= to_seq');
    this.needApp(s, g.app_id);
    if (s.gaps.has(key(g.app_id, g.from_seq))) fail('UNIQUE', 'seq_gaps.app_id, seq_gaps.from_seq');
    const { app_id, from_seq, to_seq, detected_at } = g;
    s.gaps.set(key(app_id, from_seq), { app_id, from_seq, to_seq, detected_at });
  }

  fillSeqGap(appId: string, seq: number): boolean {
    const s = this.st();
    const hits = [...s.gaps.values()].filter((g) => g.app_id === appId && g.from_seq <= seq && seq <= g.to_seq);
    const g = hits.sort((a, b) => a.from_seq - b.from_seq)[0];
    if (!g) return false;
    s.gaps.delete(key(appId, g.from_seq));
    if (g.from_seq < seq) this.insertSeqGap({ ...g, to_seq: seq - 1 });
    if (seq < g.to_seq) this.insertSeqGap({ ...g, from_seq: seq + 1 });
    return true;
  }

  insertControl(c: NewControl): number {
    const s = this.st();
    const row: ControlRow = {
      id: s.next.controls, app_id: c.app_id, action: c.action, payload_json: jsonCopy(c.payload_json),
      correlation_id: c.correlation_id, status: c.status, origin: c.origin, created_at: c.created_at,
      expires_at: c.expires_at, sent_at: null, acked_at: null, ack_result_json: null,
    };
    notNull('control_queue', row, ['app_id', 'action', 'correlation_id', 'status', 'origin', 'created_at', 'expires_at']);
    oneOf(row.status, CONTROL_STATUSES, 'control_queue.status');
    this.needApp(s, row.app_id);
    for (const o of s.controls.values()) {
      if (o.correlation_id === row.correlation_id) fail('UNIQUE', 'control_queue.correlation_id');
    }
    s.controls.set(s.next.controls++, row);
    return row.id;
  }

  updateControl(id: number, patch: ControlPatch): void {
    const s = this.st();
    const old = s.controls.get(id);
    const entries = controlPatchEntries(patch);
    if (!old || entries.length === 0) return;
    const row = { ...old, ...jsonCopy(Object.fromEntries(entries)) } as ControlRow;
    notNull('control_queue', row, ['status']);
    oneOf(row.status, CONTROL_STATUSES, 'control_queue.status');
    s.controls.set(id, row);
  }

  insertAudit(a: NewAudit): void {
    const s = this.st();
    const row: AuditRow = {
      id: s.next.audit, timestamp: a.timestamp, action: a.action, target_app_id: a.target_app_id ?? null,
      cascade: Boolean(a.cascade), payload_json: jsonCopy(a.payload_json), auth_domain: a.auth_domain,
      source_app_id: a.source_app_id ?? null, oauth_subject: a.oauth_subject ?? null, source_ip: a.source_ip ?? null,
      user_agent: a.user_agent ?? null, outcome: a.outcome, count: a.count ?? 1,
    };
    notNull('audit_log', row, ['timestamp', 'action', 'auth_domain', 'outcome']);
    if (!(Number.isInteger(row.count) && row.count >= 1)) fail('CHECK', 'audit_log.count >= 1');
    s.audit.set(s.next.audit++, row);
  }

  pruneAudit(p: AuditPrune): number {
    const s = this.st();
    if (!(p.limit > 0)) return 0;
    const rows = [...s.audit.values()];
    const byAge = rows.filter((a) => a.timestamp < p.olderThan).sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id - b.id));
    const gone = byAge.slice(0, p.limit).map((a) => a.id);
    // As on SQLite: the rows above max(id) - keepRows, so at most keepRows.
    const dropped = new Set(gone);
    const left = rows.filter((a) => !dropped.has(a.id));
    const maxId = left.reduce((m, a) => Math.max(m, a.id), 0);
    const beyond = left.filter((a) => a.id <= maxId - p.keepRows).map((a) => a.id).sort((a, b) => a - b);
    gone.push(...beyond.slice(0, p.limit - gone.length));
    for (const id of gone) s.audit.delete(id);
    return gone.length;
  }

  pruneSnapshots(appId: string, range: SeqRange): number {
    const s = this.st();
    const gone = [...s.messages.values()].filter(
      (m) => m.app_id === appId && m.direction === 'in' && m.msg_type === 'Status' && m.seq > range.after && m.seq <= range.upTo,
    );
    for (const m of gone) {
      s.messages.delete(m.id);
      s.bySeq.delete(seqKey(m));
    }
    return gone.length;
  }

  claimNonce(keyText: string, nonce: string, expiresAt: number, now: number): boolean {
    const s = this.st();
    const k = `${keyText}\u0000${nonce}`;
    const held = s.nonces.get(k);
    if (held !== undefined && held > now) return false;
    s.nonces.set(k, expiresAt);
    return true;
  }

  pruneNonces(now: number): number {
    const s = this.st();
    let n = 0;
    for (const [k, exp] of [...s.nonces]) if (exp <= now && s.nonces.delete(k)) n++;
    return n;
  }

  moveStatus(instance: string, from: readonly AppStatus[], to: AppStatus, at: string): string[] {
    const s = this.st();
    const hit = [...s.apps.values()]
      .filter((a) => a.server_instance === instance && from.includes(a.status))
      .sort(byCreated);
    if (hit.length > 0) oneOf(to, APP_STATUSES, 'apps.status');
    for (const a of hit) s.apps.set(a.app_id, { ...a, status: to, updated_at: at });
    return hit.map((a) => a.app_id);
  }

  // ── bootstrap tier (memory-bootstrap.ts) ──
  insertBootstrapDevice(row: BootstrapDeviceRow): void {
    bootstrapWrite.insert(this.st(), row);
  }

  updateBootstrapDevice(childPubKey: string, patch: BootstrapPatch): void {
    bootstrapWrite.update(this.st(), childPubKey, patch);
  }

  deleteBootstrapDevice(childPubKey: string): boolean {
    return bootstrapWrite.delete(this.st(), childPubKey);
  }

  expireBootstrapDevices(now: string): string[] {
    return bootstrapWrite.expire(this.st(), now);
  }

  deleteExpiredBootstrapDevices(before: string): number {
    return bootstrapWrite.deleteExpired(this.st(), before);
  }

  putClaimIntent(row: ClaimIntentRow): void {
    bootstrapWrite.putIntent(this.st(), row);
  }

  deleteClaimIntent(parentPubKey: string): boolean {
    return bootstrapWrite.deleteIntent(this.st(), parentPubKey);
  }
}
