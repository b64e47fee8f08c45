/**
 * Command-line options of `npm run bench`. Defaults are the full run;
 * --quick shortens every bench to a smoke-sized version of itself.
 *
 *   npm run bench -- --only ingest,restart --systems open,aedes --duration 5
 */
import type { System } from '../ingest.js';

export type BenchName = 'verify' | 'ingest' | 'connections' | 'restart';
const BENCHES: BenchName[] = ['verify', 'ingest', 'connections', 'restart'];
const SYSTEMS: System[] = ['open', 'signed', 'encrypted', 'aedes', 'mosquitto'];

export interface RunOptions {
  only: BenchName[];
  systems: System[];
  quick: boolean;
  devices: number;
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Ingest rounds: every system once per round, in turn; the report takes the median. */
  rounds: number;
  procs: number;
  verifyMs: number;
  connections: number;
  connProcs: number;
  restartDevices: number;
  /** One restart storm per rate (msgs/s per device; 0 = as fast as acks allow). */
  restartRates: number[];
  restartLoadMs: number;
  restartGraceMs: number;
  build: boolean;
  profile: 'auto' | 'always' | 'never';
  entry: 'dist' | 'src';
  out: string;
}

export const USAGE = `npm run bench -- [options]
  --only LIST          benches to run: ${BENCHES.join(',')} (default all)
  --systems LIST       ingest systems: ${SYSTEMS.join(',')} (default all)
  --quick              short run (about 2 minutes)
  --devices N          ingest devices (1000)      --window N   unacked messages per device (8)
  --duration S         ingest window, s (10)      --warmup S   before it (3)
  --rounds N           ingest rounds, every system once per round, in turn (3; --quick 1)
  --procs N            generator processes (2)
  --connections N      idle connections (10000)   --conn-procs N  their generator processes (2)
  --restart-rates LIST msgs/s per device in the restart storms, 0 = unpaced (0,5)
  --profile MODE       auto (profile the gateway when an ingest goal is missed), always, never
  --no-build           use dist/ as it is      --src  run the gateway from source (tsx)
  --out DIR            where latest.json and latest.md go (bench/results)`;

export function parseOptions(argv: string[], defaultOut: string): RunOptions {
  const quick = argv.includes('--quick');
  const o: RunOptions = {
    only: BENCHES,
    systems: SYSTEMS,
    quick,
    devices: 1000,
    window: 8,
    warmupMs: quick ? 1000 : 3000,
    durationMs: quick ? 3000 : 10_000,
    rounds: quick ? 1 : 3,
    procs: 2,
    verifyMs: quick ? 1000 : 2000,
    connections: quick ? 2000 : 10_000,
    connProcs: 2,
    restartDevices: 1000,
    restartRates: quick ? [5] : [0, 5],
    restartLoadMs: quick ? 2000 : 3000,
    restartGraceMs: quick ? 5000 : 30_000,
    build: true,
    profile: 'auto',
    entry: 'dist',
    out: defaultOut,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value\n\n${USAGE}`);
      return x;
    };
    const n = (): number => {
      const x = Number(v());
      if (!Number.isFinite(x) || x < 0) throw new Error(`${a} needs a number`);
      return x;
    };
    const list = <T extends string>(allowed: readonly T[]): T[] => {
      const xs = v().split(',') as T[];
      const bad = xs.filter((x) => !allowed.includes(x));
      if (bad.length) throw new Error(`${a}: unknown ${bad.join(', ')}; choose from ${allowed.join(', ')}`);
      return xs;
    };
    if (a === '--quick') continue;
    else if (a === '--only') o.only = list(BENCHES);
    else if (a === '--systems') o.systems = list(SYSTEMS);
    else if (a === '--devices') o.devices = n();
    else if (a === '--window') o.window = n();
    else if (a === '--duration') o.durationMs = n() * 1000;
    else if (a === '--warmup') o.warmupMs = n() * 1000;
    else if (a === '--rounds') {
      o.rounds = n();
      if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds needs a whole number of at least 1');
    }
    else if (a === '--procs') o.procs = n();
    else if (a === '--connections') o.connections = n();
    else if (a === '--conn-procs') o.connProcs = n();
    else if (a === '--restart-rates') o.restartRates = v().split(',').map(Number);
    else if (a === '--profile') o.profile = list(['auto', 'always', 'never'] as const)[0]!;
    else if (a === '--no-build') o.build = false;
    else if (a === '--src') (o.entry = 'src'), (o.build = false);
    else if (a === '--out') o.out = v();
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown option ${a}\n\n${USAGE}`);
  }
  // 20,000 fds per process: keep each generator well under it.
  o.connProcs = Math.max(o.connProcs, Math.ceil(o.connections / 8000));
  return o;
}
