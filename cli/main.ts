#!/usr/bin/env node
/** The `trails` command (spec §25). Everything but the process wiring is in run.ts. */
import { run } from './run.js';

const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);

/** Exit once stdout and stderr have taken everything (idle keep-alive sockets must not hold the process). */
function exit(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

run(process.argv.slice(2), {
  stdout: write(process.stdout),
  stderr: write(process.stderr),
  env: process.env,
  cwd: process.cwd(),
  ownerPid: process.ppid,
}).then(exit, (err: unknown) => {
  process.stderr.write(`trails: ${String(err)}\n`);
  exit(1);
});
