/**
 * The same load shape against an MQTT broker: one mqtt.js client per device,
 * QoS 1 publishes of the same JSON text the open tier sends, `window` of them
 * awaiting PUBACK at any time.
 */
import { connect, type MqttClient } from 'mqtt';
import type { DeviceIdentity } from './frames.js';
import { messageText } from './frames.js';
import type { DeviceEnv } from './ws-device.js';

export class MqttDevice {
  registered = false;
  private client: MqttClient | undefined;
  private sending = false;
  private inflight = 0;
  private nextSeq = 1;
  private readonly topic: string;

  constructor(readonly id: DeviceIdentity, readonly name: string, private readonly env: DeviceEnv) {
    this.topic = `trails/${id.appId}/status`;
  }

  get inflightCount(): number {
    return this.inflight;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const client = connect(this.env.url, { clientId: this.name, clean: true, reconnectPeriod: 0, keepalive: 60, protocolVersion: 4 });
      this.client = client;
      client.once('connect', () => {
        this.registered = true;
        this.env.counters.registrations++;
        resolve();
      });
      client.once('error', reject);
      client.on('close', () => void (this.registered = false));
    });
  }

  start(): void {
    this.sending = true;
    this.pump();
  }

  stopSending(): void {
    this.sending = false;
  }

  close(): void {
    this.sending = false;
    this.client?.end(true);
  }

  private pump(): void {
    const client = this.client;
    if (!this.sending || !this.registered || !client) return;
    while (this.inflight < this.env.window) {
      const seq = this.nextSeq++;
      const at = performance.now();
      this.inflight++;
      this.env.counters.sent++;
      client.publish(this.topic, messageText(this.id, seq), { qos: 1 }, (err) => this.onPuback(at, err));
    }
  }

  private onPuback(at: number, err?: Error): void {
    this.inflight--;
    const c = this.env.counters;
    if (err) c.errors[err.message] = (c.errors[err.message] ?? 0) + 1;
    else {
      c.acks++;
      this.env.latency.add(performance.now() - at);
    }
    this.pump();
  }
}
