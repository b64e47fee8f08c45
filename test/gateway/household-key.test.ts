import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOUSEHOLD_KEY_FILE, loadOrCreateHouseholdKey } from '../../gateway/keys/household-key.js';

const dirs: string[] = [];
const dir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trails-household-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('household.key', () => {
  it('is created once, 0600, 32 bytes, and read back the same', () => {
    const d = dir();
    const first = loadOrCreateHouseholdKey(d);
    expect(first.created).toBe(true);
    expect(first.secret).toHaveLength(32);
    expect(statSync(join(d, HOUSEHOLD_KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = loadOrCreateHouseholdKey(d);
    expect(again.created).toBe(false);
    expect(Buffer.from(again.secret).equals(Buffer.from(first.secret))).toBe(true);
    expect(Buffer.from(loadOrCreateHouseholdKey(dir()).secret).equals(Buffer.from(first.secret))).toBe(false);
  });

  it('a file readable by others is tightened; a damaged one stops the start with a clear message', () => {
    const d = dir();
    loadOrCreateHouseholdKey(d);
    const path = join(d, HOUSEHOLD_KEY_FILE);
    chmodSync(path, 0o644);
    loadOrCreateHouseholdKey(d);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, '{not json');
    expect(() => loadOrCreateHouseholdKey(d)).toThrow(/not valid JSON/);
    writeFileSync(path, JSON.stringify({ type: 'hmac-sha256', secret: Buffer.alloc(16).toString('base64') }));
    expect(() => loadOrCreateHouseholdKey(d)).toThrow(/32 bytes/);
  });
});
