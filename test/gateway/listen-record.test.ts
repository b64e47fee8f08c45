/**
 * The gateway records where it listens in DATA_DIR/listen, and the CLI on the
 * box finds it there when neither --server nor TRAILS_LISTEN is given.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../cli/settings.js';
import { admin, call } from '../api/support/api-harness.js';
import { withGateway } from '../support/gateway.js';

describe('DATA_DIR/listen', () => {
  it('holds the URL of the bound port, which the CLI settings resolve to', async () => {
    const gw = await withGateway();
    try {
      expect(readFileSync(join(gw.dataDir, 'listen'), 'utf8')).toBe(`${gw.url}\n`);
      const settings = resolveSettings({ json: false }, { TRAILS_DATA_DIR: gw.dataDir }, '/');
      expect(settings.serverUrl).toBe(gw.url);
    } finally {
      await gw.cleanup();
    }
  });
});

describe('GET /api/v1/health', () => {
  it('answers a signed caller with the figures of /healthz, the disk space among them; unsigned is 401', async () => {
    const gw = await withGateway({ diskReserveBytes: 1 << 20 });
    try {
      expect((await call(gw, null, 'GET', '/api/v1/health')).status).toBe(401);
      const r = await call(gw, admin(gw), 'GET', '/api/v1/health');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ connections: 0, live_apps: 0, server_pub_key: gw.identity.publicKeyText, disk: { reserve_bytes: 1 << 20, low_space: false } });
      expect(typeof r.body.disk.free_bytes).toBe('number');
      expect(r.body.disk.free_bytes).toBeGreaterThan(0);
    } finally {
      await gw.cleanup();
    }
  });
});
