/**
 * The ws adapter's own guard (ws-server.ts): if a hub entry point ever threw
 * past the hub's guard, only that socket is closed (1011) and the server
 * accepts and serves other sockets.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DeviceServer } from '../../gateway/device/ws-server.js';
import type { DeviceHub } from '../../gateway/device/hub.js';
import type { Connection } from '../../gateway/device/connection.js';

let http: Server | undefined;
let devices: DeviceServer | undefined;
afterEach(async () => {
  devices?.close();
  if (http) await new Promise((r) => http!.close(r));
});

it('closes only the socket whose event threw, with 1011', async () => {
  const answered: string[] = [];
  const hub = {
    isStopping: false,
    onOpen: () => {},
    onClose: () => {},
    onBinary: () => {},
    onText: (conn: Connection, text: string) => {
      if (text === 'boom') throw new Error('defect');
      conn.send({ type: 'error', code: 'bad_frame', message: text });
      answered.push(text);
    },
  } as unknown as DeviceHub;
  for (const sliceMs of [0, 5]) {
    devices = new DeviceServer(hub, { maxPayload: 1 << 16, heartbeatMs: 0, maxConnections: 10, sliceMs });
    const server = (http = createServer());
    server.on('upgrade', (req, socket, head) => devices!.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`;
    const open = (): Promise<WebSocket> => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
    const bad = await open();
    const good = await open();
    const closed = new Promise<number>((r) => bad.once('close', (code) => r(code)));
    bad.send('boom');
    expect(await closed).toBe(1011);
    const reply = new Promise<string>((r) => good.once('message', (d) => r(String(d))));
    good.send('still here');
    expect(JSON.parse(await reply)).toMatchObject({ message: 'still here' });
    good.close();
    devices.close();
    await new Promise((r) => server.close(r));
    http = undefined;
    devices = undefined;
  }
  expect(answered).toEqual(['still here', 'still here']);
});
