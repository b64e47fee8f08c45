/**
 * Lifecycle bench (issue 4): bootstrap-to-operating time of N factory-fresh
 * devices claimed at once, while M operating devices keep sending Status.
 *
 *   node --import tsx bench/lifecycle/run.ts [--devices 100] [--operating 200]
 *        [--rate 10] [--phase-ms 3000] [--entry src|dist]
 *
 * The gateway runs as its own process (bench/lib/gateway.ts), with the
 * per-address bootstrap limit lifted (every simulated device comes from
 * 127.0.0.1). The bench process holds the devices: the operating fleet on
 * raw sockets (bench/sim/ws-device.ts, pre-signed Status at a fixed rate) and
 * the bootstrap devices as real client BootstrapDevices. Figures:
 *
 *   - per device, claim request sent → device registered with its new app
 *     (p50/p99/max), and first contact → awaiting claim;
 *   - the operating fleet's acks/s before the claims and while they run
 *     (from the first claim sent to the last device operating, at least one
 *     phase), and the ack latency p99 in both phases.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { BootstrapDevice } from '../../client/bootstrap.js';
import { silentLogger } from '../../client/log.js';
import { MemoryConfigStore } from '../../client/nvs-store.js';
import { signRequest } from '../../gateway/auth/request-signing.js';
import { generateKeyPair, privateKeyObject, type Ed25519KeyPair } from '../../gateway/crypto/ed25519.js';
import { encodePublicKey } from '../../protocol/keys.js';
import { signFrame } from '../../gateway/crypto/frame-signing.js';
import { GatewayProcess, LIFTED_CAP_ARGS } from '../lib/gateway.js';
import { fmt, fmtInt, freePort, sleep, tempDir, waitFor } from '../lib/util.js';
import { newIdentity } from '../sim/frames.js';
import { LatencyHistogram, newCounters } from '../sim/stats.js';
import { WsDevice } from '../sim/ws-device.js';

interface Options {
  devices: number;
  operating: number;
  rate: number;
  phaseMs: number;
  entry: 'src' | 'dist';
}

function options(argv: string[]): Options {
  const o: Options = { devices: 100, operating: 200, rate: 10, phaseMs: 3000, entry: 'src' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--devices') o.devices = Number(v);
    else if (k === '--operating') o.operating = Number(v);
    else if (k === '--rate') o.rate = Number(v);
    else if (k === '--phase-ms') o.phaseMs = Number(v);
    else if (k === '--entry') o.entry = v === 'dist' ? 'dist' : 'src';
    else throw new Error(`unknown option ${k}`);
  }
  return o;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

/** The parent: an app registered with its key, which then signs the claims. */
async function registerParent(wsUrl: string): Promise<{ appId: string; key: Ed25519KeyPair; ws: WebSocket }> {
  const key = generateKeyPair();
  const appId = crypto.randomUUID();
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const frame = { type: 'register', app_id: appId, parent_id: null, app_name: 'bench-parent', child_pub_key: encodePublicKey(key.publicKey), process_info: null, role_refs: [], sec_level: 'signed', timestamp: Date.now() };
  ws.send(JSON.stringify(signFrame(frame, privateKeyObject(key.secretKey))));
  await new Promise<void>((resolve, reject) => ws.once('message', (d) => (JSON.parse(String(d)).type === 'registered' ? resolve() : reject(new Error(String(d))))));
  return { appId, key, ws };
}

async function rest(base: string, who: { appId: string; key: Ed25519KeyPair }, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...(text ? { 'content-type': 'application/json' } : {}), ...signRequest({ method, path, body: text, key: who.key, appId: who.appId }) };
  const res = await fetch(`${base}${path}`, { method, headers, body: text ?? null });
  return { status: res.status, body: await res.json() };
}

export async function runLifecycle(o: Options): Promise<Record<string, unknown>> {
  const dir = tempDir('lifecycle');
  const lifted = ['--bootstrap-rate', '1000000', '--bootstrap-burst', '1000000', '--rate', '100000', '--burst', '100000', '--heartbeat', '0', ...LIFTED_CAP_ARGS];
  const gw = await GatewayProcess.start({ port: await freePort(), dataDir: dir.path, entry: o.entry, args: lifted });
  const ticker: { t?: NodeJS.Timeout } = {};
  const fleet: WsDevice[] = [];
  const devices: BootstrapDevice[] = [];
  try {
    const serverPubKey = (await gw.health()).server_pub_key;
    const parent = await registerParent(gw.wsUrl);
    const intent = await rest(gw.url, parent, 'POST', '/api/v1/claim-intents', { ttlSeconds: 3600 });
    if (intent.status !== 201) throw new Error(`claim intent: ${JSON.stringify(intent.body)}`);

    // ── the operating fleet, paced ──
    const counters = newCounters();
    const warmup = new LatencyHistogram();
    const before = new LatencyHistogram();
    const during = new LatencyHistogram();
    let latency = warmup;
    const env = { url: gw.wsUrl, window: 16, ratePerSec: o.rate, reconnect: false, counters, latency: { add: (ms: number) => latency.add(ms) } as LatencyHistogram };
    for (let i = 0; i < o.operating; i++) fleet.push(new WsDevice(newIdentity('signed'), `op-${i}`, env));
    const stock = Math.ceil(o.rate * ((o.phaseMs * 3) / 1000 + 60));
    fleet.forEach((d) => d.presign(stock));
    await Promise.all(fleet.map((d) => d.connect()));
    fleet.forEach((d) => d.start());
    let last = performance.now();
    ticker.t = setInterval(() => {
      const now = performance.now();
      fleet.forEach((d) => d.tick(now - last));
      last = now;
    }, 20);
    await sleep(1000); // warm-up
    // The warm-up's first burst (every device's window at once) is not the steady state.
    latency = before;
    const a0 = counters.acks;
    const tb = performance.now();
    await sleep(o.phaseMs);
    const beforeRate = ((counters.acks - a0) * 1000) / (performance.now() - tb);

    // ── first contact of N devices ──
    const pendingAt = new Map<BootstrapDevice, number>();
    const operatingAt = new Map<BootstrapDevice, number>();
    const provisionedAt = new Map<BootstrapDevice, number>();
    const fc0 = performance.now();
    for (let i = 0; i < o.devices; i++) {
      const mac = `02:BE:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`.toUpperCase();
      const d = new BootstrapDevice({
        store: new MemoryConfigStore(), logger: silentLogger, backoff: { baseMs: 50, maxMs: 1000 },
        info: { v: 1, mode: 'bootstrap', parentPubKey: encodePublicKey(parent.key.publicKey), serverEp: gw.url, serverPubKey },
        device: { chip: 'ESP32-S3', mac, firmware: 'v1.0.3', flash_id: `f${i}` },
      });
      d.events.once('pending', () => pendingAt.set(d, performance.now()));
      d.events.once('operating', () => operatingAt.set(d, performance.now()));
      d.events.once('provisioned', () => provisionedAt.set(d, performance.now()));
      devices.push(d);
      d.start();
    }
    if (!(await waitFor(() => pendingAt.size === o.devices, 30_000))) throw new Error(`only ${pendingAt.size} of ${o.devices} devices awaiting claim`);
    const firstContactMs = [...pendingAt.values()].map((t) => t - fc0);
    await sleep(500);

    // ── all claimed at once ──
    const a1 = counters.acks;
    latency = during;
    const claimedAt = new Map<BootstrapDevice, number>();
    const t0 = performance.now();
    const answeredMs: number[] = [];
    const claims = devices.map((d, i) => {
      const at = performance.now();
      claimedAt.set(d, at);
      return rest(gw.url, parent, 'POST', '/api/v1/claim', { parentId: parent.appId, childPubKey: d.publicKey, appId: crypto.randomUUID(), appName: `dev-${i}` }).then((r) => (answeredMs.push(performance.now() - at), r));
    });
    const answers = await Promise.all(claims);
    const refused = answers.filter((r) => r.status !== 201);
    if (refused.length) throw new Error(`${refused.length} claims refused: ${JSON.stringify(refused[0]!.body)}`);
    if (!(await waitFor(() => operatingAt.size === o.devices, 60_000, 5))) throw new Error(`only ${operatingAt.size} of ${o.devices} devices operating`);
    const tLast = performance.now();
    await sleep(Math.max(0, o.phaseMs - (tLast - t0)));
    const duringMs = performance.now() - t0;
    const duringRate = ((counters.acks - a1) * 1000) / duringMs;
    const claimToOperating = devices.map((d) => operatingAt.get(d)! - claimedAt.get(d)!);
    const claimToProvision = devices.map((d) => provisionedAt.get(d)! - claimedAt.get(d)!);
    const provisionToOperating = devices.map((d) => operatingAt.get(d)! - provisionedAt.get(d)!);
    const apps = await rest(gw.url, parent, 'GET', `/api/v1/apps?parent_id=${parent.appId}`);
    const registered = (apps.body.apps as Array<{ status: string }>).filter((a) => a.status === 'connected' || a.status === 'running').length;

    return {
      devices: o.devices, operating: o.operating, ratePerDevice: o.rate,
      firstContact: { p50: pct(firstContactMs, 50), p99: pct(firstContactMs, 99), max: Math.max(...firstContactMs) },
      claimAnswered: { p50: pct(answeredMs, 50), p99: pct(answeredMs, 99), max: Math.max(...answeredMs) },
      claimToProvision: { p50: pct(claimToProvision, 50), p99: pct(claimToProvision, 99), max: Math.max(...claimToProvision) },
      provisionToOperating: { p50: pct(provisionToOperating, 50), p99: pct(provisionToOperating, 99), max: Math.max(...provisionToOperating) },
      claimToOperating: { p50: pct(claimToOperating, 50), p99: pct(claimToOperating, 99), max: Math.max(...claimToOperating) },
      allOperatingMs: tLast - t0,
      registeredOnGateway: registered,
      acksPerSec: { before: beforeRate, during: duringRate, ratio: duringRate / beforeRate, duringWindowMs: duringMs },
      ackLatencyP99Ms: { before: before.percentile(99), during: during.percentile(99) },
      errors: counters.errors,
    };
  } finally {
    clearInterval(ticker.t);
    devices.forEach((d) => d.stop());
    fleet.forEach((d) => d.close());
    await gw.stop();
    dir.remove();
  }
}

function print(r: Record<string, any>): string {
  const ms = (x: number) => `${fmt(x, 0)} ms`;
  return [
    `Lifecycle bench: ${r.devices} devices claimed at once, ${r.operating} operating devices at ${r.ratePerDevice} Status/s each`,
    '',
    `first contact → awaiting claim   p50 ${ms(r.firstContact.p50)}  p99 ${ms(r.firstContact.p99)}  max ${ms(r.firstContact.max)}`,
    `claim sent → REST answer         p50 ${ms(r.claimAnswered.p50)}  p99 ${ms(r.claimAnswered.p99)}  max ${ms(r.claimAnswered.max)}`,
    `claim sent → provision received  p50 ${ms(r.claimToProvision.p50)}  p99 ${ms(r.claimToProvision.p99)}  max ${ms(r.claimToProvision.max)}`,
    `provision → registered (new app) p50 ${ms(r.provisionToOperating.p50)}  p99 ${ms(r.provisionToOperating.p99)}  max ${ms(r.provisionToOperating.max)}`,
    `claim sent → operating           p50 ${ms(r.claimToOperating.p50)}  p99 ${ms(r.claimToOperating.p99)}  max ${ms(r.claimToOperating.max)}`,
    `all ${r.devices} operating after ${ms(r.allOperatingMs)}; registered on the gateway: ${r.registeredOnGateway}`,
    `operating fleet acks/s           before ${fmtInt(r.acksPerSec.before)}  during ${fmtInt(r.acksPerSec.during)}  ratio ${fmt(r.acksPerSec.ratio, 3)} (window ${ms(r.acksPerSec.duringWindowMs)})`,
    `operating fleet ack p99          before ${fmt(r.ackLatencyP99Ms.before, 1)} ms  during ${fmt(r.ackLatencyP99Ms.during, 1)} ms`,
    `errors seen by the fleet         ${JSON.stringify(r.errors)}`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = options(process.argv.slice(2));
  runLifecycle(o).then(
    (r) => {
      const out = fileURLToPath(new URL('../results/', import.meta.url));
      mkdirSync(out, { recursive: true });
      writeFileSync(`${out}lifecycle.json`, `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${print(r)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`lifecycle bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
