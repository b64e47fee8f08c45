import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../gateway/store/memory/memory-store.js';
import { storeContract } from './contract.js';
import { app, seed, uuid } from './fixtures.js';

storeContract('MemoryStore', () => new MemoryStore());

describe('MemoryStore only', () => {
  it('stores are independent of one another', () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    seed(a, (w) => w.insertApp(app(uuid(1))));
    expect(a.getApp(uuid(1))?.app_id).toBe(uuid(1));
    expect(b.getApp(uuid(1))).toBeUndefined();
  });
});
