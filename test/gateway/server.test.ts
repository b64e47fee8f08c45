import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Device } from '../support/hub-harness.js';
import { RawDevice, withGateway } from '../support/gateway.js';

type Gw = Awaited<ReturnType<typeof withGateway>>;
let gw: Gw | undefined;
afterEach(async () => {
  await gw?.cleanup();
  gw = undefined;
});

describe('gateway over real sockets', () => {
  it('answers /healthz 200 once ready, with the server key', async () => {
    gw = await withGateway();
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', server_pub_key: gw.identity.publicKeyText });
  });

  it('keeps its key in a 0600 file that survives a restart', async () => {
    gw = await withGateway();
    const key = gw.identity.publicKeyText;
    const { dataDir } = gw;
    expect(statSync(join(dataDir, 'server.key')).mode & 0o777).toBe(0o600);
    await gw.stop();
    gw = await withGateway({ dataDir });
    expect(gw.identity.publicKeyText).toBe(key);
  });

  it('closes a socket that sends a frame over the size limit with 1009, and keeps the others', async () => {
    gw = await withGateway({ maxFrameBytes: 4096 });
    const good = await RawDevice.open(gw.wsUrl);
    const d = new Device(undefined, 'open', null, Date.now());
    good.send(d.register());
    await good.until((x) => x.frames.length === 1);
    const big = await RawDevice.open(gw.wsUrl);
    big.send({ type: 'register', app_id: crypto.randomUUID(), parent_id: null, app_name: 'x'.repeat(5000), child_pub_key: 'ed25519:x' });
    await big.until((x) => x.closed !== undefined);
    expect(big.closed?.code).toBe(1009);
    good.send(d.message({ still: 'here' }));
    await good.until((x) => x.frames.length === 2);
    expect(good.frames[1]).toMatchObject({ type: 'ack', seq: 1 });
    expect(gw.store.listApps().map((a) => a.app_id)).toEqual([d.appId]);
  });

  it('refuses upgrades on unknown paths', async () => {
    gw = await withGateway();
    await expect(RawDevice.open(`${gw.wsUrl.replace('/ws', '/nope')}`)).rejects.toThrow(/404/);
  });

  it('survives thousands of connections opening and dropping, and marks the registered ones crashed', async () => {
    // 200 sockets at once from one address: the per-address caps are lifted (they have tests of their own).
    gw = await withGateway({ maxConnectionsPerAddress: 1000, maxUnregisteredPerAddress: 1000 });
    const rounds = 10;
    const perRound = 200;
    let registered = 0;
    for (let r = 0; r < rounds; r++) {
      const devs = await Promise.all(Array.from({ length: perRound }, () => RawDevice.open(gw!.wsUrl)));
      devs.forEach((dev, i) => {
        if (i % 2 === 0) {
          dev.send(new Device(undefined, 'open', null, Date.now()).register());
          registered++;
        } else dev.send('{"half a frame');
      });
      await Promise.all(devs.map((dev) => dev.until((x) => x.frames.length >= 1)));
      devs.forEach((dev) => dev.ws.terminate());
    }
    const deadline = Date.now() + 5000;
    while (gw.store.listApps({ status: 'crashed' }).length < registered && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(gw.store.listApps({ status: 'crashed' })).toHaveLength(registered);
    expect(gw.devices.size).toBe(0);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('full tier over wss://', () => {
  it('accepts a full-tier app over TLS (the plain-socket refusal is in hub-security.test.ts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trails-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    gw = await withGateway({ tlsCert: cert, tlsKey: key });
    expect(gw.wsUrl.startsWith('wss://')).toBe(true);
    const d = new Device(undefined, 'full', null, Date.now());
    const dev = await RawDevice.open(gw.wsUrl, { ca: [readFileSync(cert)] });
    dev.send(d.register());
    dev.send(d.message({ secure: true }));
    await dev.until((x) => x.frames.length === 2);
    expect(dev.frames.map((f) => f.type)).toEqual(['registered', 'ack']);
    expect(gw.store.getApp(d.appId)?.sec_level).toBe('full');
  });
});
