/** Where the interop tests find the reference Python client: ../shared beside the checkout, on any machine. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findReferenceClient, SHARED } from './reference-client.js';

describe('findReferenceClient', () => {
  it.skipIf(!existsSync(SHARED))('reads the client in place from ../shared/reference/trails-client-python', () => {
    const found = findReferenceClient({ ...process.env, TRAILS_REF_CLIENT: '' });
    // Skipping is allowed only for a Python without websockets/nacl; the path itself must resolve.
    if (!found.ok) expect(found.reason).toMatch(/python3/);
    else expect(found.client.clientDir).toBe(join(SHARED, 'reference', 'trails-client-python'));
  });

  it('a client folder that is not there is an error, not a silent skip', () => {
    expect(() => findReferenceClient({ ...process.env, TRAILS_REF_CLIENT: '/nonexistent/trails-client-python' })).toThrow(/not at \/nonexistent/);
  });
});
