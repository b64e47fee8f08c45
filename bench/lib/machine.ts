/** The machine a run was made on, for the report: results mean little without it. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import Database from 'better-sqlite3';
import { mosquittoPath } from './brokers.js';
import { ROOT } from './gateway.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  node: string;
  kernel: string;
  sqlite: string;
  mosquitto: string;
  aedes: string;
  mqttJs: string;
  ws: string;
  openFilesLimit: string;
  loadAvgAtStart: number[];
  gitCommit: string;
}

function safe(fn: () => string): string {
  try {
    return fn().trim();
  } catch {
    return 'unknown';
  }
}

const pkgVersion = (name: string): string =>
  safe(() => (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version);

export function describeMachine(): Machine {
  const db = new Database(':memory:');
  const sqlite = db.prepare('select sqlite_version()').pluck().get() as string;
  db.close();
  const mosq = mosquittoPath();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    ramBytes: totalmem(),
    node: process.version,
    kernel: release(),
    sqlite,
    mosquitto: mosq ? safe(() => /version (\S+)/.exec(spawnSync(mosq, ['-h'], { encoding: 'utf8' }).stdout)?.[1] ?? '') : 'not installed',
    aedes: pkgVersion('aedes'),
    mqttJs: pkgVersion('mqtt'),
    ws: pkgVersion('ws'),
    openFilesLimit: safe(() => /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? ''),
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    gitCommit: safe(() => execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
  };
}
