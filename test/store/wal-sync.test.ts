import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SyncPipeline, WalFile, type FileSync } from '../../gateway/store/sqlite/wal-sync.js';
import { WorkerFileSync } from '../../gateway/store/sqlite/wal-sync-worker.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { app, uuid } from './fixtures.js';

/** A FileSync whose flushes finish when the test says so. */
class HeldSync implements FileSync {
  readonly pending: Array<(err?: Error) => void> = [];
  syncs = 0;
  sync(done: (err?: Error) => void): void {
    this.syncs += 1;
    this.pending.push(done);
  }
  syncNow(): void {}
  close(): void {}
  finish(err?: Error): void {
    this.pending.shift()!(err);
  }
}

describe('SyncPipeline', () => {
  it('one flush in flight; requests made meanwhile share the next one, in order', () => {
    const file = new HeldSync();
    const pipe = new SyncPipeline(file);
    const seen: string[] = [];
    pipe.whenDurable(() => seen.push('a'));
    pipe.whenDurable(() => seen.push('b'));
    pipe.whenDurable(() => seen.push('c'));
    expect(file.syncs).toBe(1); // b and c were committed after the first flush started
    file.finish();
    expect(seen).toEqual(['a']);
    expect(file.syncs).toBe(2);
    file.finish();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(pipe.busy).toBe(false);
  });

  it('whenIdle runs at once with no flush in flight, else right after the flush answers', () => {
    const file = new HeldSync();
    const pipe = new SyncPipeline(file);
    const seen: string[] = [];
    pipe.whenIdle(() => seen.push('idle-now'));
    pipe.whenDurable(() => seen.push('durable'));
    pipe.whenIdle(() => {
      seen.push('idle-after');
      pipe.whenDurable(() => seen.push('durable-2')); // a commit made then starts the next flush
    });
    expect(seen).toEqual(['idle-now']);
    file.finish();
    expect(seen).toEqual(['idle-now', 'durable', 'idle-after']);
    expect(file.syncs).toBe(2);
    file.finish();
    expect(seen).toEqual(['idle-now', 'durable', 'idle-after', 'durable-2']);
  });

  it('a failed flush fails its whole batch and reports it as fatal', () => {
    const file = new HeldSync();
    const fatal: Error[] = [];
    const pipe = new SyncPipeline(file, (e) => fatal.push(e));
    const got: Array<Error | undefined> = [];
    pipe.whenDurable((e) => got.push(e));
    file.finish(new Error('EIO'));
    expect(got.map((e) => e?.message)).toEqual(['EIO']);
    expect(fatal.map((e) => e.message)).toEqual(['EIO']);
  });
});

describe('WalFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trails-wal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no descriptor while there is no WAL file, and flushes the WAL once there is one', () => {
    const path = join(dir, 'a.db');
    const wal = new WalFile(path);
    expect(wal.descriptor()).toBe(-1);
    wal.syncNow();
    const store = openSqliteStore(path);
    store.transaction((w) => w.insertApp(app(uuid(1))), { deferSync: true });
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    const fd = wal.descriptor();
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(wal.descriptor()).toBe(fd); // the same file: the same descriptor
    wal.syncNow();
    wal.close();
    store.close();
  });

  it('the store flushes pending commits on close, and a reopened store has them', async () => {
    const path = join(dir, 'c.db');
    const store = openSqliteStore(path);
    store.transaction((w) => w.insertApp(app(uuid(3))), { deferSync: true });
    const answered = new Promise((r) => store.whenDurable(r));
    store.close();
    await expect(answered).resolves.toBeUndefined();
    const again = openSqliteStore(path);
    expect(again.getApp(uuid(3))?.app_id).toBe(uuid(3));
    again.close();
  });
});

describe('WorkerFileSync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trails-walw-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A database with one committed app, so that its WAL exists, and a flush thread for it. */
  const withWal = (name: string, n: number) => {
    const path = join(dir, name);
    const store = openSqliteStore(path, { fsync: 'inline' });
    store.transaction((w) => w.insertApp(app(uuid(n))));
    return { store, sync: new WorkerFileSync(path) };
  };

  it('a finished flush is seen by poll() within the same turn, without the event loop', () => {
    const { store, sync } = withWal('a.db', 1);
    let answered: Error | undefined | 'no' = 'no';
    sync.sync((e) => (answered = e));
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 500 && answered === 'no'; i++) {
      Atomics.wait(nap, 0, 0, 10); // this thread blocks: no event loop turn happens
      sync.poll();
    }
    expect(answered).toBeUndefined();
    sync.close();
    store.close();
  });

  it('the thread stays up while idle', async () => {
    const { store, sync } = withWal('c.db', 3);
    await new Promise((r) => setTimeout(r, 300));
    await expect(new Promise((r) => sync.sync(r))).resolves.toBeUndefined();
    sync.close();
    store.close();
  });

  it('answers through the event loop too, and a flush in flight at close', async () => {
    const { store, sync } = withWal('b.db', 2);
    await expect(new Promise((r) => sync.sync(r))).resolves.toBeUndefined();
    const inFlight = new Promise((r) => sync.sync(r));
    sync.close();
    await expect(inFlight).resolves.toBeUndefined();
    store.close();
  });
});
