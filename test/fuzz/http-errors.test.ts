/** Outside the API too, a failure is a bare 500 that says nothing internal, and a client error keeps its 4xx. */
import pino from 'pino';
import { expect, it } from 'vitest';
import { buildHttp } from '../../gateway/http/server.js';

it('a route that throws answers 500 with a generic body, no stack and no message', async () => {
  const { app } = buildHttp({ logger: pino({ level: 'silent' }), ready: () => true, health: () => ({}) });
  app.get('/boom', async () => {
    throw new Error('secret detail at /etc/trails');
  });
  app.post('/echo', async (req) => req.body);
  const res = await app.inject({ method: 'GET', url: '/boom' });
  expect(res.statusCode).toBe(500);
  expect(res.json()).toEqual({ error: { code: 'internal', message: 'the gateway failed to answer this request; it has been logged' } });
  expect(res.body).not.toMatch(/secret|stack|at /);
  const bad = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
  expect(bad.statusCode).toBe(400);
  expect(bad.json()).toMatchObject({ error: { code: 'bad_request' } });
  expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  await app.close();
});
