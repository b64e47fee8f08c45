/**
 * The command line, parsed by commander: subcommands, generated help and
 * "did you mean" suggestions, built anew for each run from the command table
 * (commands/*.ts: what each parses) and help.ts (what each says).
 *
 * Commander is told never to exit and never to print an error itself: every
 * parse failure comes out of here as a usage CliError (exit 64) with the
 * CLI's own one-line wording, so run() reports it like any other failure
 * (and as JSON under --json). No I/O: help text is returned, not printed.
 */
import { Command as Commander, CommanderError, Option } from 'commander';
import type { OptKind, Parsed } from './args.js';
import type { Command } from './commands/common.js';
import { usageError } from './errors.js';
import { COMMANDS, GLOBAL_OPTIONS, TOP_DETAILS, type OptionHelp } from './help.js';

export interface Globals {
  server?: string;
  dataDir?: string;
  json: boolean;
}

export type Invocation = { kind: 'help'; text: string } | { kind: 'run'; command: Command; parsed: Parsed; globals: Globals };

/** Parses argv; throws a usage CliError whose `usage` names the command it concerns ('' for the top level). */
export function parseCommandLine(argv: readonly string[], table: Readonly<Record<string, Command>>): Invocation {
  let help = '';
  let chosen: { command: Command; sub: Commander; options: Map<string, Option> } | undefined;
  const program = new Commander('trails')
    .usage('COMMAND [options]')
    .description('The TRAILS gateway from the shell: see and control apps, or be one.')
    .helpOption('-h, --help', 'this help')
    .configureHelp({ showGlobalOptions: true, sortOptions: false })
    .configureOutput({ writeOut: (t) => void (help += t), writeErr: (t) => void (help += t), outputError: () => {} })
    .exitOverride((e) => {
      throw tagged(e, '');
    })
    .addHelpText('after', `\n${TOP_DETAILS}`);
  for (const [name, h] of Object.entries(GLOBAL_OPTIONS)) program.addOption(optionOf(name, typeof h === 'string' ? 'boolean' : 'string', h, ''));

  for (const command of Object.values(table)) {
    const h = COMMANDS[command.name]!;
    const sub = program
      .command(command.name)
      .summary(h.summary)
      .description(h.summary)
      .usage(h.synopsis)
      // The commands check their positionals themselves, with their own messages.
      .allowExcessArguments(true)
      .exitOverride((e) => {
        throw tagged(e, command.name);
      });
    for (const a of h.args ?? []) sub.argument(a);
    const options = new Map<string, Option>();
    for (const [name, kind] of Object.entries(command.spec)) {
      const o = optionOf(name, kind, h.options[name], command.name);
      options.set(name, o);
      sub.addOption(o);
    }
    if (h.details) sub.addHelpText('after', `\n${h.details}`);
    sub.action(() => void (chosen = { command, sub, options }));
  }

  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    const err = e as CommanderError & { command?: string };
    if (!(e instanceof CommanderError)) throw e;
    // --help, and `trails help COMMAND` (commander.help with 0); commander.help with 1 is "no command".
    if (err.code === 'commander.helpDisplayed' || (err.code === 'commander.help' && err.exitCode === 0)) return { kind: 'help', text: help };
    if (err.code === 'commander.help') throw usageError('give a command', '');
    throw usageError(messageOf(err), err.command ?? '');
  }
  if (!chosen) throw usageError('give a command', '');
  const g = program.opts<{ server?: string; dataDir?: string; json?: boolean }>();
  const opts: Parsed['opts'] = {};
  for (const [name, o] of chosen.options) opts[name] = chosen.sub.getOptionValue(o.attributeName()) as string | boolean | undefined;
  return {
    kind: 'run',
    command: chosen.command,
    parsed: { opts, positionals: [...chosen.sub.args] },
    globals: { ...(g.server !== undefined ? { server: g.server } : {}), ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}), json: g.json === true },
  };
}

/** The lines that follow a usage error: the synopsis and where to read more. */
export function usageLines(command: string): string {
  const h = command ? COMMANDS[command] : undefined;
  if (!h) return 'Usage: trails COMMAND [options]   (trails --help lists the commands)';
  return `Usage: trails ${command} ${h.synopsis}\n(trails ${command} --help says more)`;
}

/** Whether argv asks for --json, for failures found before (or while) it is parsed. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

function optionOf(name: string, kind: OptKind, h: OptionHelp | undefined, command: string): Option {
  const text = h === undefined ? '' : typeof h === 'string' ? h : h[1];
  if (kind === 'boolean') return new Option(`--${name}`, text);
  const value = typeof h === 'object' ? h[0] : 'VALUE';
  // Given twice is a mistake worth saying, not "the last one wins".
  return new Option(`--${name} <${value}>`, text).argParser((v: string, previous: unknown) => {
    if (previous !== undefined) throw usageError(`--${name} is given more than once`, command);
    return v;
  });
}

function tagged(e: CommanderError, command: string): CommanderError & { command: string } {
  return Object.assign(e, { command });
}

/** Commander's wording, in the CLI's: `unknown option --bogus; did you mean --uuid?`. */
function messageOf(e: CommanderError): string {
  const [head = '', hint] = e.message.replace(/^error: /, '').split('\n');
  const did = /\(Did you mean (.+)\?\)/.exec(hint ?? '')?.[1];
  const text = head
    .replace(/^unknown option '(.*)'$/, (_, o: string) => `unknown option ${o.slice(0, 60)}`)
    .replace(/^unknown command '(.*)'$/, (_, c: string) => `unknown command "${c.slice(0, 40)}"`)
    .replace(/^option '--([\w-]+)[^']*' argument missing$/, '--$1 needs a value');
  return did ? `${text}; did you mean ${did}?` : text;
}

