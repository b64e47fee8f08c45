/**
 * Real gateways in this process and simulated devices that live a whole
 * life against them: a parent app (registered, signing REST calls with its
 * key), BootstrapDevices with an in-memory NVS, and a transport that lets a
 * test see and inject what a device's socket receives.
 */
import type { RunningGateway } from '../../../gateway/app.js';
import type { GatewayConfig } from '../../../gateway/config.js';
import { BootstrapDevice, type BootstrapDeviceOptions, type DeviceEvents } from '../../../client/bootstrap.js';
import { silentLogger } from '../../../client/log.js';
import { MemoryConfigStore, type ConfigStore } from '../../../client/nvs-store.js';
import { wsTransport, type Transport, type TransportHandlers, type TransportSocket } from '../../../client/transport.js';
import { SimLink, simApp, type SimApp } from '../../api/support/sim-device.js';
import { call, startTestGateway, type CallResult } from '../../api/support/api-harness.js';
import { nextMac } from './boot-device.js';

export const FAST_BACKOFF = { baseMs: 20, maxMs: 200, jitter: 0.2 };

export async function gateway(over: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  return startTestGateway(over);
}

/** A registered (signed) app on its own socket: a parent that signs claims and controls with its key. */
export async function parentApp(gw: RunningGateway, parentId: string | null = null, name = 'home-hub'): Promise<{ app: SimApp; link: SimLink }> {
  const link = await SimLink.open(gw.wsUrl);
  const app = simApp(parentId, name);
  const answer = await link.register(app);
  if (answer.type !== 'registered') throw new Error(`parent did not register: ${JSON.stringify(answer)}`);
  return { app, link };
}

/** The same app (same id and key) on another gateway: a fleet move starts with its parents. */
export async function sameAppOn(gw: RunningGateway, app: SimApp): Promise<SimLink> {
  const link = await SimLink.open(gw.wsUrl);
  const answer = await link.register(app);
  if (answer.type !== 'registered') throw new Error(`app did not register: ${JSON.stringify(answer)}`);
  return link;
}

export function as(app: SimApp): { key: SimApp['key']; appId: string } {
  return { key: app.key, appId: app.appId };
}

export function api<T = any>(gw: RunningGateway, app: SimApp | null, method: string, path: string, body?: unknown): Promise<CallResult<T>> {
  return call<T>(gw, app ? as(app) : { key: gw.admin.pair }, method, path, body);
}

/** Records every frame a device receives and lets a test push one in (a replay, a forgery). */
export class TapTransport implements Transport {
  readonly received: string[] = [];
  readonly urls: string[] = [];
  private last: TransportHandlers | null = null;

  constructor(private readonly inner: Transport = wsTransport()) {}

  open(url: string, h: TransportHandlers): TransportSocket {
    this.urls.push(url);
    const tapped: TransportHandlers = { ...h, onMessage: (text) => (this.received.push(text), h.onMessage(text)) };
    this.last = tapped;
    return this.inner.open(url, tapped);
  }

  inject(frame: object): void {
    this.last?.onMessage(JSON.stringify(frame));
  }

  frames(): Array<Record<string, any>> {
    return this.received.map((t) => JSON.parse(t) as Record<string, any>);
  }
}

export interface SimDevice {
  device: BootstrapDevice;
  store: ConfigStore;
  tap: TapTransport;
  mac: string;
}

export function bootDevice(gw: RunningGateway, parentPubKey: string, over: Partial<BootstrapDeviceOptions> = {}): SimDevice {
  const store = over.store ?? new MemoryConfigStore();
  const tap = new TapTransport();
  const mac = over.device?.mac ?? nextMac();
  const device = new BootstrapDevice({
    store, transport: tap, logger: silentLogger, backoff: FAST_BACKOFF,
    info: { v: 1, mode: 'bootstrap', parentPubKey, serverEp: gw.url, serverPubKey: gw.identity.publicKeyText },
    device: { chip: 'ESP32-S3', mac, firmware: 'v1.0.3', flash_id: `flash-${mac}` },
    move: { attempts: 3, timeoutMs: 4_000 },
    ...over,
  });
  return { device, store, tap, mac };
}

/** The next event of this name (optionally matching), or a clear failure. */
export function next<K extends keyof DeviceEvents>(d: BootstrapDevice, name: K, pred: (e: DeviceEvents[K]) => boolean = () => true, ms = 8_000): Promise<DeviceEvents[K]> {
  return d.events.next(name, pred, ms);
}
