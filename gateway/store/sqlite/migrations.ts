/**
 * Versioned schema migrations. A shipped migration is never edited: gateways in
 * the field have already run it, so a change is always a new version.
 *
 * Table and column names follow the reference TRAILS schema (spec §22) so its
 * SQL runs unchanged against our file. Type mapping from the reference:
 * UUID → TEXT, TIMESTAMPTZ → TEXT (ISO-8601 UTC with ms, so text order is time
 * order), TEXT[] → TEXT (JSON array), JSONB → TEXT (JSON, readable with ->>),
 * INET → TEXT, BIGSERIAL → INTEGER PRIMARY KEY AUTOINCREMENT (ids are never
 * reused, so a message id keeps meaning one message).
 */
import type Database from 'better-sqlite3';
import { BOOTSTRAP_MIGRATION, BOOTSTRAP_PINS_MIGRATION } from './bootstrap-sql.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
}

const INITIAL = `
CREATE TABLE apps (
  app_id            TEXT PRIMARY KEY,
  -- No FOREIGN KEY: the gateway checks parents itself, and a child may outlive
  -- (or arrive before) the row of its parent.
  parent_id         TEXT,
  app_name          TEXT NOT NULL,
  namespace         TEXT,
  pod_name          TEXT,
  node_name         TEXT,
  pod_ip            TEXT,
  pid               INTEGER,
  ppid              INTEGER,
  executable        TEXT,
  proc_uid          INTEGER,
  proc_gid          INTEGER,
  proc_user         TEXT,
  originator_sub    TEXT,
  originator_groups TEXT,
  pub_key           TEXT,
  status            TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'connected', 'running', 'done', 'error', 'crashed',
                      'cancelled', 'start_failed', 'reconnecting', 'lost_contact')),
  start_time        TEXT,
  connected_at      TEXT,
  disconnected_at   TEXT,
  server_instance   TEXT,
  role_refs         TEXT,
  metadata_json     TEXT,
  start_deadline    INTEGER DEFAULT 300,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  -- ours, beside the reference columns
  sec_level         TEXT CHECK (sec_level IS NULL OR sec_level IN ('open', 'signed', 'full')),
  last_seq          INTEGER NOT NULL DEFAULT 0,
  last_auth_ts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_apps_status ON apps(status);
CREATE INDEX idx_apps_parent ON apps(parent_id);
CREATE INDEX idx_apps_namespace ON apps(namespace);
CREATE INDEX idx_apps_name ON apps(app_name);
CREATE INDEX idx_apps_instance ON apps(server_instance, status);
CREATE INDEX idx_apps_created ON apps(created_at);

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id          TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  msg_type        TEXT NOT NULL CHECK (msg_type IN ('Status', 'Result', 'Error', 'Control')),
  seq             INTEGER NOT NULL,
  correlation_id  TEXT,
  payload_json    TEXT,
  payload_bytes   BLOB,
  created_at      TEXT NOT NULL
);
CREATE INDEX idx_messages_app ON messages(app_id, created_at);
CREATE INDEX idx_messages_type ON messages(app_id, msg_type);
-- A data seq is stored once: a replayed frame hits this index instead of
-- creating a duplicate row.
CREATE UNIQUE INDEX idx_messages_in_seq ON messages(app_id, seq) WHERE direction = 'in';

CREATE TABLE snapshots (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id        TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  namespace     TEXT,
  seq           INTEGER NOT NULL,
  snapshot_json TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX idx_snapshots_latest ON snapshots(app_id, created_at DESC);
CREATE INDEX idx_snapshots_namespace ON snapshots(namespace, created_at DESC);

CREATE TABLE crashes (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id        TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  detected_at   TEXT NOT NULL,
  crash_type    TEXT NOT NULL
    CHECK (crash_type IN ('connection_drop', 'heartbeat_timeout', 'never_started')),
  gap_seconds   REAL,
  metadata_json TEXT
);
CREATE INDEX idx_crashes_time ON crashes(detected_at DESC);
CREATE INDEX idx_crashes_app ON crashes(app_id);

CREATE TABLE control_queue (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id          TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  action          TEXT NOT NULL,
  payload_json    TEXT,
  correlation_id  TEXT NOT NULL,
  status          TEXT NOT NULL
    CHECK (status IN ('queued', 'sent', 'answered', 'expired', 'undeliverable')),
  origin          TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  sent_at         TEXT,
  acked_at        TEXT,
  ack_result_json TEXT
);
CREATE UNIQUE INDEX idx_control_correlation ON control_queue(correlation_id);
CREATE INDEX idx_control_app_status ON control_queue(app_id, status);
CREATE INDEX idx_control_expiry ON control_queue(expires_at) WHERE status IN ('queued', 'sent');

-- No foreign key: the audit trail must survive the deletion of its target.
CREATE TABLE audit_log (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp     TEXT NOT NULL,
  action        TEXT NOT NULL,
  target_app_id TEXT,
  cascade       INTEGER NOT NULL DEFAULT 0 CHECK (cascade IN (0, 1)),
  payload_json  TEXT,
  auth_domain   TEXT NOT NULL,
  source_app_id TEXT,
  oauth_subject TEXT,
  source_ip     TEXT,
  user_agent    TEXT,
  outcome       TEXT NOT NULL
);
CREATE INDEX idx_audit_time ON audit_log(timestamp DESC);
CREATE INDEX idx_audit_target ON audit_log(target_app_id);

CREATE TABLE seq_gaps (
  app_id      TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  from_seq    INTEGER NOT NULL,
  to_seq      INTEGER NOT NULL,
  detected_at TEXT NOT NULL,
  CHECK (from_seq <= to_seq),
  PRIMARY KEY (app_id, from_seq)
);

CREATE TABLE gateway_meta (
  key   TEXT PRIMARY KEY,
  value TEXT
);
`;

/**
 * Nonces of signed REST requests (docs/API.md "Authentication"): a nonce is
 * kept until its request's timestamp leaves the accepted window, so a replay
 * is refused even across a restart. WITHOUT ROWID: the key is the row.
 */
const REQUEST_NONCES = `
CREATE TABLE request_nonces (
  key_text   TEXT NOT NULL,
  nonce      TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key_text, nonce)
) WITHOUT ROWID;
CREATE INDEX idx_request_nonces_expiry ON request_nonces(expires_at);
`;

/**
 * Fewer indexes on the ingest path: every Status writes a message and a
 * snapshot, and each index is one more B-tree insert under the fsync. One
 * index on messages(app_id) serves both the app's history in id order (the
 * rowid is the tail of every index entry) and the msg_type filter; nothing
 * reads snapshots by namespace yet.
 */
const INGEST_INDEXES = `
DROP INDEX idx_messages_app;
DROP INDEX idx_messages_type;
CREATE INDEX idx_messages_app_id ON messages(app_id);
DROP INDEX idx_snapshots_namespace;
`;

/**
 * The encrypted tier (addendum 0 §A0.5) is a fourth sec_level. SQLite cannot
 * change a CHECK in place, so apps is rebuilt the documented way: new table,
 * copy, drop, rename, indexes again. migrate() runs with foreign keys off, so
 * dropping the old table cascades nothing, and checks them before it commits.
 */
const ENCRYPTED_TIER = `
CREATE TABLE apps_v4 (
  app_id            TEXT PRIMARY KEY,
  parent_id         TEXT,
  app_name          TEXT NOT NULL,
  namespace         TEXT,
  pod_name          TEXT,
  node_name         TEXT,
  pod_ip            TEXT,
  pid               INTEGER,
  ppid              INTEGER,
  executable        TEXT,
  proc_uid          INTEGER,
  proc_gid          INTEGER,
  proc_user         TEXT,
  originator_sub    TEXT,
  originator_groups TEXT,
  pub_key           TEXT,
  status            TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'connected', 'running', 'done', 'error', 'crashed',
                      'cancelled', 'start_failed', 'reconnecting', 'lost_contact')),
  start_time        TEXT,
  connected_at      TEXT,
  disconnected_at   TEXT,
  server_instance   TEXT,
  role_refs         TEXT,
  metadata_json     TEXT,
  start_deadline    INTEGER DEFAULT 300,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  sec_level         TEXT CHECK (sec_level IS NULL OR sec_level IN ('open', 'signed', 'encrypted', 'full')),
  last_seq          INTEGER NOT NULL DEFAULT 0,
  last_auth_ts      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO apps_v4 SELECT * FROM apps;
DROP TABLE apps;
ALTER TABLE apps_v4 RENAME TO apps;
CREATE INDEX idx_apps_status ON apps(status);
CREATE INDEX idx_apps_parent ON apps(parent_id);
CREATE INDEX idx_apps_namespace ON apps(namespace);
CREATE INDEX idx_apps_name ON apps(app_name);
CREATE INDEX idx_apps_instance ON apps(server_instance, status);
CREATE INDEX idx_apps_created ON apps(created_at);
`;

/**
 * A snapshot is a Status message (spec §13), so snapshots become a view over
 * the Status rows of messages instead of a second copy of each: every Status
 * costs one row under the fsync instead of two (half the writes on an SD
 * card). The view keeps the reference table's name and columns, so its SQL
 * (`SELECT snapshot_json->>'progress' FROM snapshots WHERE app_id = …`) runs
 * unchanged; retention of snapshots is retention of Status messages.
 */
const SNAPSHOTS_VIEW = `
DROP TABLE snapshots;
CREATE VIEW snapshots AS
  SELECT m.id AS id, m.app_id AS app_id, a.namespace AS namespace, m.seq AS seq,
         m.payload_json AS snapshot_json, m.created_at AS created_at
  FROM messages m LEFT JOIN apps a ON a.app_id = m.app_id
  WHERE m.direction = 'in' AND m.msg_type = 'Status';
`;

/**
 * One index on messages instead of two. Every data frame inserts into each
 * index of messages, and under load the insertion points of a thousand apps
 * lie on a thousand different leaf pages, each written whole into the WAL at
 * the commit: the second index doubled that (bench: about 5 µs of a frame's
 * 40). (app_id, direction, seq) is unique for both directions (an outgoing
 * control's seq is its control_queue id), so it still refuses a data seq
 * stored twice, finds a message by seq, serves the app_id prefix (history,
 * ON DELETE CASCADE) and MAX(seq).
 */
const ONE_MESSAGE_INDEX = `
DROP INDEX idx_messages_app_id;
DROP INDEX idx_messages_in_seq;
CREATE UNIQUE INDEX idx_messages_seq ON messages(app_id, direction, seq);
`;

/**
 * messages keyed by a small integer per app instead of its 36-character
 * app_id. The unique index takes every data frame, and under load the
 * insertion points of a thousand apps lie on as many leaf pages, each written
 * whole into the WAL at the commit and again by the checkpoint. Integer keys
 * put about four times as many entries on a page, so fewer pages carry the
 * same rows (store micro-benchmark, 1,000 apps, 1,024 rows per commit,
 * retention 100: 1.5–2 µs less per row on the committing thread, and 31 %
 * fewer WAL bytes per row, 4.1 KiB against 2.8, for the fsync and the
 * checkpoint to write).
 * app_ref is given once per app and never changes (apps.rowid could change
 * with a VACUUM). The foreign key moves to app_ref, whose index serves the
 * cascade; app_id stays in every row, so the reference's queries run
 * unchanged, and the snapshots view now finds an app's rows through apps.
 */
const MESSAGE_APP_REF = `
ALTER TABLE apps ADD COLUMN app_ref INTEGER;
UPDATE apps SET app_ref = rowid;
CREATE UNIQUE INDEX idx_apps_ref ON apps(app_ref);
CREATE TABLE messages_v8 (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id          TEXT NOT NULL,
  direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  msg_type        TEXT NOT NULL CHECK (msg_type IN ('Status', 'Result', 'Error', 'Control')),
  seq             INTEGER NOT NULL,
  correlation_id  TEXT,
  payload_json    TEXT,
  payload_bytes   BLOB,
  created_at      TEXT NOT NULL,
  app_ref         INTEGER NOT NULL REFERENCES apps(app_ref) ON DELETE CASCADE
);
INSERT INTO messages_v8 (id, app_id, direction, msg_type, seq, correlation_id, payload_json, payload_bytes, created_at, app_ref)
  SELECT m.id, m.app_id, m.direction, m.msg_type, m.seq, m.correlation_id, m.payload_json, m.payload_bytes, m.created_at, a.app_ref
  FROM messages m JOIN apps a ON a.app_id = m.app_id ORDER BY m.id;
-- Ids of pruned rows are never handed out again.
DELETE FROM sqlite_sequence WHERE name = 'messages_v8';
INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v8', seq FROM sqlite_sequence WHERE name = 'messages';
DROP VIEW snapshots;
DROP TABLE messages;
ALTER TABLE messages_v8 RENAME TO messages;
CREATE UNIQUE INDEX idx_messages_seq ON messages(app_ref, direction, seq);
CREATE VIEW snapshots AS
  SELECT m.id AS id, a.app_id AS app_id, a.namespace AS namespace, m.seq AS seq,
         m.payload_json AS snapshot_json, m.created_at AS created_at
  FROM messages m JOIN apps a ON a.app_ref = m.app_ref
  WHERE m.direction = 'in' AND m.msg_type = 'Status';
`;

/**
 * Audit rows that stand for many events: the refusals of unauthenticated
 * requests are counted per source address and reason over an interval and
 * written as one row (audit/refusal-tally.ts). A column, not a second table:
 * the trail stays one table to read and to prune, and the reference's
 * queries on audit_log run unchanged (every older row counts 1).
 */
const AUDIT_COUNT = `
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', up: INITIAL },
  { version: 2, name: 'request_nonces', up: REQUEST_NONCES },
  { version: 3, name: 'ingest_indexes', up: INGEST_INDEXES },
  { version: 4, name: 'encrypted_tier', up: ENCRYPTED_TIER },
  // Bootstrap devices, their TOFU pins and claim intents (bootstrap-sql.ts).
  { version: 5, name: 'bootstrap', up: BOOTSTRAP_MIGRATION },
  { version: 6, name: 'snapshots_view', up: SNAPSHOTS_VIEW },
  { version: 7, name: 'one_message_index', up: ONE_MESSAGE_INDEX },
  { version: 8, name: 'message_app_ref', up: MESSAGE_APP_REF },
  { version: 9, name: 'audit_count', up: AUDIT_COUNT },
  // Pins at claim, scoped to the claiming parent key; several first contacts per MAC (bootstrap-sql.ts).
  { version: 10, name: 'bootstrap_pins', up: BOOTSTRAP_PINS_MIGRATION },
];

/** A database written by a newer gateway: this build does not know its schema and must not write to it. */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`the database has schema version ${found}, newer than this build knows (${known}): it was written by a newer gateway`);
    this.name = 'SchemaTooNewError';
  }
}

/** The highest schema version recorded in the file (0 for a new file). Reads only. */
export function schemaVersion(db: Database.Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return 0;
  const r = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return r.v ?? 0;
}

/** Refuses, before anything is written, a file whose schema is newer than the newest migration here. */
export function checkSchemaVersion(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  const found = schemaVersion(db);
  if (found > known) throw new SchemaTooNewError(found, known);
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, all in one
 * immediate transaction (a crash mid-way leaves the old schema, never half a
 * new one). Running it again is a no-op. Returns the versions it applied.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version <= migrations[i - 1]!.version) {
      throw new Error(`migrations out of order at version ${migrations[i]!.version}`);
    }
  }
  checkSchemaVersion(db, migrations);
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>;
    const done = new Set(rows.map((r) => r.version));
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.up);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    // Schema changes run with foreign keys off (see ENCRYPTED_TIER); prove
    // they left every reference intact before the transaction commits.
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migration broke ${broken.length} foreign key reference(s)`);
    return applied;
  });
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    return run.immediate();
  } finally {
    db.pragma(`foreign_keys = ${fk ? 'ON' : 'OFF'}`);
  }
}
