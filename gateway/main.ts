#!/usr/bin/env node
/** trailsd: reads its configuration, starts the gateway, stops it cleanly on SIGTERM/SIGINT. */
import { ConfigError, loadConfig, usage } from './config.js';
import { startGateway } from './app.js';
import { StartupError } from './startup/errors.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  let config;
  try {
    config = loadConfig(process.env, argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`trailsd: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const gw = await startGateway(config);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    gw.log.info({ signal }, 'stopping');
    gw.stop().then(
      () => process.exit(0),
      (err) => {
        gw.log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  // A failure the operator can act on is one line naming the file or port;
  // anything unexpected keeps its stack for the bug report.
  if (err instanceof StartupError) {
    process.stderr.write(`trailsd: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`trailsd: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
