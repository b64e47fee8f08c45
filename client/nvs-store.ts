/**
 * A small persistent key-value store standing in for a device's NVS
 * (non-volatile storage): the device keeps its identity seed and its current
 * config here, so a reboot resumes where it was (addendum 0 §A0.3, "stores
 * the new config in NVS"). Values are JSON; reads and writes are synchronous,
 * as NVS is on an ESP32.
 *
 * FileConfigStore writes the whole map to a temp file, fsyncs it and renames
 * it over the old one, so a power cut leaves the old map or the new one,
 * never half of either.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ConfigStore {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** The in-memory twin, for tests and simulated fleets. */
export class MemoryConfigStore implements ConfigStore {
  private readonly map = new Map<string, string>();
  writes = 0;

  get<T = unknown>(key: string): T | undefined {
    const v = this.map.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  set(key: string, value: unknown): void {
    this.writes++;
    // Stored as text, so a caller mutating its object later cannot change what is "on flash".
    this.map.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.writes++;
    this.map.delete(key);
  }
}

export class FileConfigStore implements ConfigStore {
  private data: Record<string, unknown>;

  constructor(readonly path: string) {
    this.data = FileConfigStore.read(path);
  }

  get<T = unknown>(key: string): T | undefined {
    const v = this.data[key];
    return v === undefined ? undefined : (structuredClone(v) as T);
  }

  set(key: string, value: unknown): void {
    this.data = { ...this.data, [key]: JSON.parse(JSON.stringify(value)) as unknown };
    this.flush();
  }

  delete(key: string): void {
    if (!(key in this.data)) return;
    const { [key]: _gone, ...rest } = this.data;
    this.data = rest;
    this.flush();
  }

  private flush(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${process.pid}`;
    // 0600: the identity seed is a private key.
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.data)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }

  private static read(path: string): Record<string, unknown> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`config store ${path} does not hold a JSON object`);
    return v as Record<string, unknown>;
  }
}
