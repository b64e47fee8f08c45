/**
 * The conformance runner against a gateway that is already running:
 *
 *   node --import tsx test/conformance/cli.ts --server ws://127.0.0.1:8443/ws --db ./data/trails.db [--scenarios DIR]...
 *
 * Prints one line per scenario (PASS/FAIL/SKIP, failures indented below) and
 * a last line "N passed, M failed"; exits 1 when any scenario failed, 2 on a
 * usage error. Restarting the gateway and sending controls need the
 * in-process test, so scenarios that use them are skipped here.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConformanceRunner } from './runner.js';
import { loadScenarios, PROJECT_DIR, REFERENCE_DIR, ScenarioError, type Scenario } from './scenario.js';

interface Args {
  server: string;
  db: string;
  dirs: string[];
}

const USAGE = 'usage: cli.ts --server ws://HOST:PORT/ws --db PATH/trails.db [--scenarios DIR]...\n';

function parseArgs(argv: readonly string[]): Args {
  let server: string | undefined;
  let db: string | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--server') server = value;
    else if (flag === '--db') db = resolve(value);
    else if (flag === '--scenarios') dirs.push(resolve(value));
    else throw new Error(`unknown option ${flag}`);
  }
  if (!server || !db) throw new Error('--server and --db are required');
  if (!existsSync(db)) throw new Error(`no database at ${db}`);
  if (dirs.length === 0) {
    if (existsSync(REFERENCE_DIR)) dirs.push(REFERENCE_DIR);
    else console.log(`note: ${REFERENCE_DIR} is absent; running the project's scenarios only`);
    dirs.push(PROJECT_DIR);
  }
  for (const d of dirs) if (!existsSync(d)) throw new Error(`no scenario directory ${d}`);
  return { server, db, dirs };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let scenarios: Scenario[];
  try {
    scenarios = loadScenarios(args.dirs);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    process.stderr.write(`bad scenario: ${e.message}\n`);
    return 2;
  }
  const runner = new ConformanceRunner({ wsUrl: args.server, dbPath: args.db }, scenarios);
  let passed = 0;
  let failed = 0;
  try {
    for (const r of await runner.runAll()) {
      if (r.status === 'passed') passed++;
      if (r.status === 'failed') failed++;
      const head = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' }[r.status];
      console.log(`${head} ${r.name}${r.status === 'skipped' ? `: ${r.messages.join('; ')}` : ''}`);
      if (r.status === 'failed') for (const m of r.messages) console.log(`    ${m}`);
    }
  } finally {
    await runner.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
