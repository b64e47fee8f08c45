/**
 * The published OpenAPI document describes exactly the routes and schemas
 * the gateway validates and serialises with.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../gateway/api/plugin.js';
import * as S from '../../gateway/api/schemas.js';
import { declaredChildResponse } from '../../gateway/api/routes-join.js';
import { cleanDirs, startTestGateway } from './support/api-harness.js';

afterAll(cleanDirs);

describe('GET /api/v1/openapi.json', () => {
  it('lists every endpoint of spec §23 with the schemas fastify uses', async () => {
    const gw = await startTestGateway();
    try {
      const res = await gw.http.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      const doc = res.json();
      expect(doc.openapi).toBe('3.1.0');
      const ops = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
      );
      expect(ops.sort()).toEqual([
        'DELETE /api/v1/bootstrap-devices/{mac} release_pin',
        'DELETE /api/v1/children/{appId} withdraw_child',
        'DELETE /api/v1/claim-intents delete_claim_intent',
        'GET /api/v1/apps list_apps',
        'GET /api/v1/apps/{appId} get_app',
        'GET /api/v1/apps/{appId}/children list_children',
        'GET /api/v1/apps/{appId}/messages list_messages',
        'GET /api/v1/apps/{appId}/snapshots list_snapshots',
        'GET /api/v1/apps/{appId}/snapshots/latest latest_snapshot',
        'GET /api/v1/bootstrap-devices list_bootstrap_devices',
        'GET /api/v1/crashes list_crashes',
      'GET /api/v1/health health',
        'GET /api/v1/server-key get_server_key',
        'GET /api/v1/watch watch',
        'POST /api/v1/apps/{appId}/cancel cancel',
        'POST /api/v1/apps/{appId}/control control',
        'POST /api/v1/apps/{appId}/migrate migrate',
        'POST /api/v1/apps/{appId}/provision provision',
        'POST /api/v1/apps/{appId}/rotate-keys rotate_keys',
        'POST /api/v1/children declare_child',
        'POST /api/v1/claim claim',
        'POST /api/v1/claim-intents create_claim_intent',
        'POST /api/v1/join-tokens join_token',
        'POST /api/v1/server-key/rotate rotate_server_key',
      ]);
      const declare = doc.paths['/api/v1/children'].post;
      expect(declare.requestBody).toEqual({ required: true, content: { 'application/json': { schema: JSON.parse(JSON.stringify(S.declareChildBody)) } } });
      expect(declare.responses['201'].content['application/json'].schema).toEqual(JSON.parse(JSON.stringify(declaredChildResponse)));
      const cancel = doc.paths['/api/v1/apps/{appId}/cancel'].post;
      expect(cancel.requestBody.required).toBe(false);
      expect(cancel.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['path:appId', 'query:cascade', 'query:grace']);
      const control = doc.paths['/api/v1/apps/{appId}/control'].post;
      expect(Object.keys(control.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '500', '503', '504']);
      const creates = ['/children', '/claim-intents', '/server-key/rotate'];
      for (const r of API_ROUTES) expect(Object.keys(r.schema.response)).toContain(r.method === 'POST' && creates.includes(r.url) ? '201' : '200');
    } finally {
      await gw.stop();
    }
  });
});
