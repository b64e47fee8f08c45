/**
 * The MQTT brokers the ingest bench compares against, each as its own
 * process on 127.0.0.1 only: Aedes (bench/brokers/aedes-broker.ts) and
 * Mosquitto (from a config written here: one loopback listener, no
 * persistence, anonymous, no connection limit).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild, Tail, track } from './children.js';
import { sleep } from './util.js';

export interface Broker {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly tail: Tail;
  stop(): Promise<unknown>;
}

const AEDES = fileURLToPath(new URL('../brokers/aedes-broker.ts', import.meta.url));

export function startAedes(port: number): Promise<Broker> {
  const child = track(spawn(process.execPath, ['--import', 'tsx', AEDES, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return ready('aedes', child, port);
}

export function mosquittoPath(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, 'mosquitto'), constants.X_OK);
      return join(d, 'mosquitto');
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function startMosquitto(port: number, dir: string): Promise<Broker> {
  const bin = mosquittoPath();
  if (!bin) throw new Error('mosquitto is not installed (apt-get install -y mosquitto)');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  const child = track(spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return ready('mosquitto', child, port);
}

async function ready(name: string, child: ReturnType<typeof spawn>, port: number): Promise<Broker> {
  const tail = new Tail();
  child.stdout?.on('data', (b: Buffer) => tail.push(b));
  child.stderr?.on('data', (b: Buffer) => tail.push(b));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await canConnect(port)) {
      return { name, pid: child.pid!, url: `mqtt://127.0.0.1:${port}`, tail, stop: () => stopChild(child) };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start:\n${tail.text()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
