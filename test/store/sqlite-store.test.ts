import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../gateway/store/sqlite/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { storeContract } from './contract.js';
import { app, iso, msg, seed, snap, uuid } from './fixtures.js';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trails-store-'));
  dirs.push(dir);
  return join(dir, 'gateway.db');
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

storeContract('SqliteStore(:memory:)', () => openSqliteStore(':memory:'));
storeContract('SqliteStore(file, fsync inline)', () => openSqliteStore(tempDb(), { fsync: 'inline' }));
storeContract('SqliteStore(file)', () => openSqliteStore(tempDb()));

describe('SqliteStore only', () => {
  let path: string;
  let store: SqliteStore;
  beforeEach(() => {
    path = tempDb();
    store = openSqliteStore(path);
  });
  afterEach(() => store.close());

  it('sets WAL, synchronous=NORMAL (the WAL is flushed by WalFileSync), foreign keys and the busy timeout on a file DB', () => {
    const p = (name: string) => store.db.pragma(name, { simple: true });
    expect(p('journal_mode')).toBe('wal');
    expect(p('synchronous')).toBe(1);
    expect(p('foreign_keys')).toBe(1);
    expect(p('busy_timeout')).toBe(5000);
  });

  it('fsync inline keeps synchronous=FULL', () => {
    const inline = openSqliteStore(tempDb(), { fsync: 'inline' });
    expect(inline.db.pragma('synchronous', { simple: true })).toBe(2);
    inline.close();
  });

  it('migrations are recorded once and re-running them is a no-op', () => {
    const recorded = () => store.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(recorded()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(migrate(store.db)).toEqual([]);
    store.close();
    store = openSqliteStore(path);
    expect(recorded()).toHaveLength(MIGRATIONS.length);
    const next = [...MIGRATIONS, { version: 99, name: 'extra', up: 'CREATE TABLE extra (x INTEGER);' }];
    expect(migrate(store.db, next)).toEqual([99]);
    expect(migrate(store.db, next)).toEqual([]);
    expect(recorded()).toHaveLength(MIGRATIONS.length + 1);
  });

  it('a failing migration leaves neither its tables nor its record', () => {
    const last = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    const bad = [...MIGRATIONS, { version: last + 1, name: 'bad', up: 'CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);' }];
    expect(() => migrate(store.db, bad)).toThrow(/nowhere/);
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'half'").all();
    expect(tables).toEqual([]);
    expect(store.db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: last });
    expect(() => migrate(store.db, [MIGRATIONS[0]!, { version: 0, name: 'x', up: '' }])).toThrow(/order/);
  });

  it('keeps the reference column names, with ours beside them', () => {
    const cols = (t: string) => (store.db.prepare(`PRAGMA table_info(${t})`).all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols('apps')).toEqual([
      'app_id', 'parent_id', 'app_name', 'namespace', 'pod_name', 'node_name', 'pod_ip', 'pid', 'ppid', 'executable',
      'proc_uid', 'proc_gid', 'proc_user', 'originator_sub', 'originator_groups', 'pub_key', 'status', 'start_time',
      'connected_at', 'disconnected_at', 'server_instance', 'role_refs', 'metadata_json', 'start_deadline',
      'created_at', 'updated_at', 'sec_level', 'last_seq', 'last_auth_ts', 'app_ref',
    ]);
    expect(cols('messages')).toEqual([
      'id', 'app_id', 'direction', 'msg_type', 'seq', 'correlation_id', 'payload_json', 'payload_bytes', 'created_at', 'app_ref',
    ]);
    expect(cols('snapshots')).toEqual(['id', 'app_id', 'namespace', 'seq', 'snapshot_json', 'created_at']);
    expect(cols('crashes')).toEqual(['id', 'app_id', 'detected_at', 'crash_type', 'gap_seconds', 'metadata_json']);
    expect(cols('gateway_meta')).toEqual(['key', 'value']);
    expect(cols('audit_log')).toContain('cascade');
    expect(store.db.prepare('PRAGMA foreign_key_list(apps)').all()).toEqual([]);
    const fk = store.db.prepare('PRAGMA foreign_key_list(messages)').all() as Array<{ table: string; from: string }>;
    expect(fk.map((f) => `${f.from}->${f.table}`)).toEqual(['app_ref->apps']);
    const idx = store.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").pluck().all();
    expect(idx).toEqual([expect.stringMatching(/UNIQUE INDEX .*\(app_ref, direction, seq\)/)]);
  });

  it('stores timestamps, arrays, JSON and booleans in the documented TEXT/INTEGER forms', () => {
    seed(store, (w) => {
      w.insertApp(app(uuid(1), { role_refs: ['a', 'b'], created_at: iso(0), metadata_json: { k: [1] } }));
      w.insertAudit({ timestamp: iso(1), action: 'x', target_app_id: null, cascade: true, payload_json: null, auth_domain: 'tree', source_app_id: null, oauth_subject: null, source_ip: null, user_agent: null, outcome: 'ok' });
    });
    const row = store.db
      .prepare(`SELECT created_at, typeof(role_refs) AS t, json_array_length(role_refs) AS n, metadata_json->'k'->>0 AS k FROM apps`)
      .get();
    expect(row).toEqual({ created_at: '2026-11-22T00:00:00.000Z', t: 'text', n: 2, k: 1 });
    expect(store.db.prepare('SELECT cascade, payload_json IS NULL AS p FROM audit_log').get()).toEqual({ cascade: 1, p: 1 });
  });

  it('answers the reference conformance queries unchanged', () => {
    const id = uuid(42);
    seed(store, (w) => {
      w.insertApp(app(id, { app_name: 'trainer', pub_key: 'ed25519:AAAA', status: 'running' }));
      w.insertMessage(msg(id, 1, { payload_json: { progress: 0.5, note: 'half' } }));
      w.insertMessage(msg(id, 2, { msg_type: 'Result', payload_json: { progress: 1 } }));
    });
    const q = (sql: string) => store.db.prepare(sql.replaceAll('<id>', id)).all();
    expect(q(`SELECT status, pub_key, app_name FROM apps WHERE app_id = '<id>'`)).toEqual([
      { status: 'running', pub_key: 'ed25519:AAAA', app_name: 'trainer' },
    ]);
    expect(q(`SELECT msg_type, seq, payload_json->>'progress' as progress FROM messages WHERE app_id = '<id>' AND msg_type = 'Status'`)).toEqual([
      { msg_type: 'Status', seq: 1, progress: 0.5 },
    ]);
    expect(q(`SELECT snapshot_json->>'progress' as progress FROM snapshots WHERE app_id = '<id>' ORDER BY created_at DESC LIMIT 1`)).toEqual([
      { progress: 0.5 },
    ]);
    seed(store, (w) => {
      w.updateApp(id, { status: 'crashed', disconnected_at: iso(10) });
      w.insertCrash({ app_id: id, detected_at: iso(10), crash_type: 'connection_drop', gap_seconds: null, metadata_json: null });
      w.insertCrash({ app_id: id, detected_at: iso(20), crash_type: 'heartbeat_timeout', gap_seconds: 31.5, metadata_json: { last: 'ok' } });
    });
    expect(q(`SELECT status, disconnected_at IS NOT NULL as has_disc FROM apps WHERE app_id = '<id>'`)).toEqual([
      { status: 'crashed', has_disc: 1 },
    ]);
    expect(q(`SELECT count(*) as crash_count FROM crashes WHERE app_id = '<id>'`)).toEqual([{ crash_count: 2 }]);
    expect(q(`SELECT crash_type FROM crashes WHERE app_id = '<id>' ORDER BY detected_at DESC LIMIT 1`)).toEqual([
      { crash_type: 'heartbeat_timeout' },
    ]);
  });

  it('committed writes survive close and reopen of the file', () => {
    seed(store, (w) => {
      w.insertApp(app(uuid(1), { metadata_json: { ü: '✓' } }));
      w.insertMessage(msg(uuid(1), 7));
    });
    store.setMeta('instance', 'gw-7');
    expect(() => store.transaction((w) => (w.insertMessage(msg(uuid(1), 8)), (() => { throw new Error('lost'); })()))).toThrow('lost');
    store.close();
    store = openSqliteStore(path);
    expect(store.getApp(uuid(1))?.metadata_json).toEqual({ ü: '✓' });
    expect(store.messages(uuid(1)).map((m) => m.seq)).toEqual([7]);
    expect(store.getMeta('instance')).toBe('gw-7');
  });

  it('a read-only store reads the file and refuses writes', () => {
    seed(store, (w) => w.insertApp(app(uuid(1))));
    const ro = openSqliteStore(path, { readonly: true });
    try {
      expect(ro.getApp(uuid(1))?.app_id).toBe(uuid(1));
      expect(() => ro.transaction((w) => w.insertApp(app(uuid(2))))).toThrow(/readonly/);
      expect(() => ro.setMeta('k', 'v')).toThrow(/readonly/);
    } finally {
      ro.close();
    }
    expect(() => openSqliteStore(join(path, '..', 'missing.db'), { readonly: true })).toThrow();
  });

  it('prepares each statement once: hot paths do not prepare again', () => {
    const warm = () =>
      store.transaction((w) => {
        w.insertMessage(msg(uuid(1), (seq += 1)));
        w.updateApp(uuid(1), { last_seq: seq });
        store.messageBySeq(uuid(1), seq);
        store.getApp(uuid(1));
        store.messages(uuid(1), { msg_type: 'Status', limit: 10 });
        store.latestSnapshot(uuid(1));
      });
    let seq = 0;
    seed(store, (w) => w.insertApp(app(uuid(1))));
    warm();
    const spy = vi.spyOn(store.db, 'prepare');
    for (let i = 0; i < 50; i++) warm();
    expect(store.batch([(w) => w.insertMessage(msg(uuid(1), 1000))])).toEqual([undefined]);
    expect(spy).not.toHaveBeenCalled();
    expect(store.getApp(uuid(1))?.last_seq).toBe(51);
    spy.mockRestore();
  });

  it('raw CHECK constraints match the reference', () => {
    const bad = (sql: string) => () => store.db.exec(sql);
    seed(store, (w) => w.insertApp(app(uuid(1))));
    expect(bad(`UPDATE apps SET status = 'zombie'`)).toThrow(/CHECK/);
    expect(bad(`INSERT INTO messages (app_id, direction, msg_type, seq, created_at) VALUES ('${uuid(1)}', 'in', 'Log', 1, 'x')`)).toThrow(/CHECK|NOT NULL/);
    expect(bad(`INSERT INTO messages (app_id, direction, msg_type, seq, created_at, app_ref) VALUES ('${uuid(1)}', 'in', 'Log', 1, 'x', 1)`)).toThrow(/CHECK/);
    expect(bad(`INSERT INTO crashes (app_id, detected_at, crash_type) VALUES ('${uuid(1)}', 'x', 'oom')`)).toThrow(/CHECK/);
  });
});

describe('migration v4 (encrypted tier)', () => {
  it('rebuilds apps without losing the rows that reference it', () => {
    const Database = BetterSqlite;
    const dir = mkdtempSync(join(tmpdir(), 'trails-mig-'));
    try {
      const path = join(dir, 'old.db');
      const db = new Database(path);
      db.pragma('foreign_keys = ON');
      migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
      db.prepare(`INSERT INTO apps (app_id, app_name, status, created_at, updated_at, sec_level) VALUES ('a', 'x', 'running', 't', 't', 'signed')`).run();
      db.prepare(`INSERT INTO messages (app_id, direction, msg_type, seq, payload_json, created_at) VALUES ('a', 'in', 'Status', 1, '{}', 't')`).run();
      expect(migrate(db)).toEqual([4, ...MIGRATIONS.filter((m) => m.version > 4).map((m) => m.version)]);
      expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 1 });
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      db.prepare(`UPDATE apps SET sec_level = 'encrypted' WHERE app_id = 'a'`).run();
      expect(() => db.prepare(`UPDATE apps SET sec_level = 'bogus' WHERE app_id = 'a'`).run()).toThrow(/CHECK/);
      expect(() => db.prepare(`DELETE FROM apps WHERE app_id = 'a'`).run()).not.toThrow();
      expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 0 }); // the cascade still works
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('migration v10 (pins at claim, per parent key)', () => {
  it('keeps every first-contact row; afterwards a MAC takes several unclaimed keys and one claimed key per parent key', () => {
    const db = new BetterSqlite(':memory:');
    migrate(db, MIGRATIONS.filter((m) => m.version <= 8));
    const ins = db.prepare(`INSERT INTO bootstrap_devices (child_pub_key, mac, parent_pub_key, status, first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?, 't', 't', 't')`);
    ins.run('k1', 'AA:BB:CC:DD:EE:01', 'p1', 'claimed');
    expect(() => ins.run('k2', 'AA:BB:CC:DD:EE:01', 'p2', 'awaiting')).toThrow(/UNIQUE/); // v5: one key per MAC, whoever came first
    expect(migrate(db, MIGRATIONS.filter((m) => m.version <= 10))).toEqual([9, 10]);
    ins.run('k2', 'AA:BB:CC:DD:EE:01', 'p2', 'awaiting');
    ins.run('k3', 'AA:BB:CC:DD:EE:01', 'p1', 'awaiting');
    ins.run('k4', 'AA:BB:CC:DD:EE:01', 'p2', 'claimed');
    expect(() => ins.run('k5', 'AA:BB:CC:DD:EE:01', 'p1', 'claimed')).toThrow(/UNIQUE/);
    expect(db.prepare('SELECT child_pub_key FROM bootstrap_devices ORDER BY child_pub_key').pluck().all()).toEqual(['k1', 'k2', 'k3', 'k4']);
    db.close();
  });
});

describe('migration v8 (messages keyed by app_ref)', () => {
  function atVersion7(): BetterSqlite.Database {
    const db = new BetterSqlite(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS.filter((m) => m.version <= 7));
    const insApp = db.prepare(`INSERT INTO apps (app_id, app_name, namespace, status, created_at, updated_at) VALUES (?, 'x', 'ns', 'running', 't', 't')`);
    const insMsg = db.prepare(`INSERT INTO messages (app_id, direction, msg_type, seq, payload_json, created_at) VALUES (?, ?, ?, ?, ?, 't')`);
    insApp.run('a');
    insApp.run('b');
    insMsg.run('a', 'in', 'Status', 1, '{"n":1}');
    insMsg.run('a', 'in', 'Result', 2, '{"n":2}');
    insMsg.run('b', 'in', 'Status', 1, '{"n":3}');
    insMsg.run('b', 'out', 'Control', 1, '{"n":4}');
    insMsg.run('a', 'in', 'Status', 3, '{"n":5}');
    db.prepare(`DELETE FROM messages WHERE payload_json = '{"n":5}'`).run(); // a pruned row: its id is never given again
    return db;
  }

  it('keeps every row, its id and the AUTOINCREMENT high-water mark; the view and the cascade work by app_ref', () => {
    const db = atVersion7();
    const before = db.prepare('SELECT id, app_id, direction, msg_type, seq, payload_json FROM messages ORDER BY id').all();
    expect(migrate(db, MIGRATIONS.filter((m) => m.version <= 8))).toEqual([8]);
    expect(db.prepare('SELECT id, app_id, direction, msg_type, seq, payload_json FROM messages ORDER BY id').all()).toEqual(before);
    const refs = db.prepare('SELECT app_id, app_ref FROM apps ORDER BY app_id').all() as Array<{ app_id: string; app_ref: number }>;
    expect(new Set(refs.map((r) => r.app_ref)).size).toBe(2);
    const bad = db.prepare('SELECT count(*) FROM messages m JOIN apps a ON a.app_id = m.app_id WHERE a.app_ref <> m.app_ref').pluck().get();
    expect(bad).toBe(0);
    expect(db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'messages'`).pluck().get()).toBe(5);
    expect(db.prepare(`SELECT app_id, seq, snapshot_json, namespace FROM snapshots ORDER BY id`).all()).toEqual([
      { app_id: 'a', seq: 1, snapshot_json: '{"n":1}', namespace: 'ns' },
      { app_id: 'b', seq: 1, snapshot_json: '{"n":3}', namespace: 'ns' },
    ]);
    db.prepare(`DELETE FROM apps WHERE app_id = 'a'`).run();
    expect(db.prepare('SELECT DISTINCT app_id FROM messages').pluck().all()).toEqual(['b']);
    db.close();
  });

  it('a new app takes the next app_ref, and a row of an unknown app is refused', () => {
    const store = openSqliteStore(':memory:');
    try {
      seed(store, (w) => {
        w.insertApp(app(uuid(1)));
        w.insertApp(app(uuid(2)));
      });
      const refs = store.db.prepare('SELECT app_ref FROM apps ORDER BY app_ref').pluck().all();
      expect(refs).toEqual([1, 2]);
      expect(() => store.transaction((w) => w.insertMessage(msg(uuid(9), 1)))).toThrow(/NOT NULL|FOREIGN KEY/);
      expect(store.messages(uuid(9))).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("finds an app's messages through the index, never by scanning the table", () => {
    const store = openSqliteStore(':memory:');
    try {
      const plan = (sql: string, ...args: unknown[]) =>
        (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      const byApp = 'app_ref = (SELECT app_ref FROM apps WHERE app_id = ?)';
      expect(plan(`SELECT * FROM messages WHERE ${byApp} AND direction = 'in' AND seq = ?`, 'a', 1)).toMatch(/SEARCH messages USING INDEX idx_messages_seq/);
      expect(plan(`DELETE FROM messages WHERE ${byApp} AND direction = 'in' AND seq > ? AND seq <= ? AND msg_type = 'Status'`, 'a', 1, 2)).toMatch(/SEARCH messages USING INDEX idx_messages_seq/);
      expect(plan(`SELECT * FROM snapshots WHERE app_id = ? ORDER BY created_at DESC LIMIT 1`, 'a')).toMatch(/SEARCH m USING INDEX idx_messages_seq/);
      expect(plan(`SELECT * FROM snapshots WHERE app_id = ?`, 'a')).not.toMatch(/SCAN m\b/);
    } finally {
      store.close();
    }
  });
});

describe('migration audit_count', () => {
  it('gives every row written before it a count of 1, and refuses a count below 1', () => {
    const v = MIGRATIONS.find((m) => m.name === 'audit_count')!.version;
    const db = new BetterSqlite(':memory:');
    migrate(db, MIGRATIONS.filter((m) => m.version < v));
    db.prepare(`INSERT INTO audit_log (timestamp, action, auth_domain, outcome) VALUES ('t', 'cancel', 'local', 'ok')`).run();
    migrate(db);
    expect(db.prepare('SELECT count FROM audit_log').all()).toEqual([{ count: 1 }]);
    expect(() => db.prepare(`INSERT INTO audit_log (timestamp, action, auth_domain, outcome, count) VALUES ('t', 'x', 'none', 'ok', 0)`).run()).toThrow(/CHECK/);
    db.close();
  });
});
