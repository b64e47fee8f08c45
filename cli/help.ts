/**
 * What `trails --help` and `trails COMMAND --help` say: one entry per
 * command, from which program.ts builds the commander command (its
 * arguments, options and help). The options a command parses are its
 * `spec` (commands/*.ts); every one of them has its text here (a unit test
 * checks that).
 *
 * Conventions the parser relies on: an option or argument named `uuid` or
 * `parent` takes one app id, `uuids` a comma-separated list; each may be a
 * unique prefix of the id (4 or more hex digits), resolved before the
 * command runs (ids.ts).
 */

/** A flag's text, or a valued option's [VALUE, text]. */
export type OptionHelp = string | readonly [value: string, text: string];

export interface CommandHelp {
  summary: string;
  /** What follows "Usage: trails NAME". */
  synopsis: string;
  /** Arguments in order, as commander declares them: "[uuid]". */
  args?: readonly string[];
  options: Readonly<Record<string, OptionHelp>>;
  /** Paragraphs after the options. */
  details: string;
}

const ID = 'ID';
const SECONDS = 'S';

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionHelp>> = {
  server: ['URL', 'the gateway (default: TRAILS_SERVER, else TRAILS_INFO\'s serverEp, else TRAILS_LISTEN, else the data directory\'s "listen" file, else http://127.0.0.1:8443)'],
  'data-dir': ['DIR', "the gateway's data directory, where the admin key is (default: TRAILS_DATA_DIR, else ./data)"],
  json: 'machine output: exactly one JSON document on stdout, failures included',
};

export const TOP_DETAILS = `App ids: wherever a command takes an app id (--uuid, --parent, --uuids, send's UUID), a unique
prefix of it works too (4 or more hex digits, as \`trails tree\` prints 8). A prefix that fits
several apps lists them and exits 64.

Identity: with TRAILS_APP_ID and TRAILS_APP_KEY set (eval "$(trails register)"), requests are
signed as that app and reach its subtree; otherwise the local admin key (DIR/admin.key) signs.

JSON: with --json every command prints one JSON document on stdout, also when it fails:
  {"error": {"code": "usage" | "failed" | <the gateway's code>, "message": "…", "exit_code": N}}
(and the same one line on stderr as without --json); the exit code does not change. Pipe it
with \`npm run -s trails -- tree --json | jq\` (-s keeps npm's banner off stdout), or after
\`npm link\` with \`trails tree --json | jq\`.

Exit codes: 0 ok; 1 failed (or the request failed; stderr says why); 64 bad command line.
trails wait: 0 succeeded, 1 failed, 2 crashed (crashed, lost_contact, start_failed), 3 timeout, 4 cancelled.`;

export const COMMANDS: Readonly<Record<string, CommandHelp>> = {
  tree: {
    summary: 'the tree under an app, or every tree',
    synopsis: '[--uuid ID] [--active] [--depth N] [--since WHEN]',
    options: {
      uuid: [ID, 'the root (default: TRAILS_APP_ID; as the admin without it, every tree)'],
      active: 'only apps that have not ended (and the apps above them, for context)',
      depth: ['N', 'at most N levels below each root (0: the roots only)'],
      since: ['WHEN', 'only apps updated since WHEN: a duration back from now (90s, 15m, 2h, 7d) or an ISO date (and the apps above them)'],
    },
    details: `Draws each app as
  name (8-char id) [status ▶ progress%] exe@host:pid
--json nests the same apps: {"trees": [{…app, "children": […]}]}.`,
  },
  children: {
    summary: "an app's children",
    synopsis: '[--uuid ID] [--status STATUS] [--recursive]',
    options: {
      uuid: [ID, 'the parent (default: TRAILS_APP_ID)'],
      status: ['STATUS', 'only children in this status'],
      recursive: 'the whole subtree, not only the direct children',
    },
    details: '',
  },
  status: {
    summary: "query an app's status, or report one as the registered app",
    synopsis: '[--uuid ID] | JSON [--timeout S]',
    args: ['[payload]'],
    options: {
      uuid: [ID, 'the app to query (default: TRAILS_APP_ID)'],
      timeout: [SECONDS, 'with JSON: how long to wait for the durable ack (default 10)'],
    },
    details: `trails status --uuid ID   the status of ID now (never blocks)
trails status JSON        report a Status message as the registered app (waits for the gateway's
                          durable ack)
Without either, queries TRAILS_APP_ID.`,
  },
  result: {
    summary: 'report the result of the registered app (it ends the app: done)',
    synopsis: 'JSON [--timeout S]',
    args: ['[payload]'],
    options: { timeout: [SECONDS, 'how long to wait for the durable ack (default 10)'] },
    details: 'Sends the Result as the registered app and waits for the durable ack.',
  },
  error: {
    summary: 'report the failure of the registered app (it ends the app: error)',
    synopsis: 'MESSAGE [--detail JSON] [--timeout S]',
    args: ['[message]'],
    options: {
      detail: ['JSON', 'the detail of the Error payload {message, detail}'],
      timeout: [SECONDS, 'how long to wait for the durable ack (default 10)'],
    },
    details: 'Sends an Error {message, detail} as the registered app and waits for the durable ack.',
  },
  shutdown: {
    summary: 'end the registered app (disconnect completed)',
    synopsis: '[--reason completed|error|failed] [--timeout S]',
    options: {
      reason: ['REASON', 'completed (the app ends done), error or failed (it ends in error)'],
      timeout: [SECONDS, 'how long to wait until the gateway stored it (default 10)'],
    },
    details: 'Disconnects the registered app and waits until the gateway has stored it.',
  },
  register: {
    summary: 'register this shell as a TRAILS node; prints exports to eval',
    synopsis: '[--name NAME] [--parent ID] [--sec-level open|signed|full]   (as: eval "$(trails register …)")',
    options: {
      name: ['NAME', 'the app name (default: shell, or the name in TRAILS_INFO)'],
      parent: [ID, 'the parent (default: the app this shell already is, TRAILS_APP_ID, or none)'],
      'sec-level': ['TIER', 'the tier: open, signed (default) or full'],
    },
    details: `Registers this shell as an app and prints
  export TRAILS_APP_ID=… TRAILS_APP_KEY=… TRAILS_INFO=…
A session agent holds the registration until trails result, error or shutdown; if the shell
exits without them, the app is marked crashed. With a TRAILS_INFO from a parent (trails
child-info) the shell registers as that child.`,
  },
  'child-info': {
    summary: 'declare a child and print its TRAILS_INFO',
    synopsis: '[--name NAME] [--parent ID] [--sec-level TIER] [--deadline S] [--tags JSON] [--export VAR]',
    options: {
      name: ['NAME', 'the child\'s name (default: child)'],
      parent: [ID, 'the parent (default: TRAILS_APP_ID)'],
      'sec-level': [
        'TIER',
        "the child's tier: open, signed, encrypted or full. Default: the parent's own tier when this is the parent's shell (its TRAILS_INFO is set), else open, which every client speaks (the reference Python client speaks only open)",
      ],
      deadline: [SECONDS, 'start_failed if the child has not registered within S seconds (default 300)'],
      tags: ['JSON', 'an object of tags for the child'],
      export: ['VAR', 'print `export VAR=<TRAILS_INFO> VAR_APP_ID=<uuid>` for eval'],
    },
    details: `Declares a child of the parent with a new UUID (scheduled) and prints its TRAILS_INFO.
--json prints {appId, parentId, appName, startDeadline, secLevel, trailsInfo}.`,
  },
  send: {
    summary: 'send a control to an app and print its answer',
    synopsis: 'UUID ACTION [--payload JSON] [--timeout S]',
    args: ['[uuid]', '[action]'],
    options: {
      payload: ['JSON', 'the control payload'],
      timeout: [SECONDS, 'how long to wait for the answer (default 10)'],
    },
    details: `Prints the device's result. Exit 1 when it refuses (ack:false), 3 when it does not answer in
time (the control stays queued until it expires).`,
  },
  cancel: {
    summary: 'cancel an app, or its whole subtree',
    synopsis: '[--uuid ID] [--cascade] [--grace S] [--reason TEXT]',
    options: {
      uuid: [ID, 'the app (default: TRAILS_APP_ID)'],
      cascade: 'its subtree too, bottom-up',
      grace: [SECONDS, 'how long each app has to end by itself before it is force-killed (0 to 3600)'],
      reason: ['TEXT', 'why, stored with the cancel'],
    },
    details: `Prints what happened to each node. An app cannot cancel itself: run as the app with no
--uuid, it cancels its children (and with --cascade their subtrees) instead.`,
  },
  wait: {
    summary: 'wait for apps to end (distributed waitpid)',
    synopsis: `--uuid ID [--timeout S] [--progress]
       trails wait --uuids A,B,C --any|--all [--timeout S] [--progress]
       trails wait --parent ID --any|--all [--timeout S] [--progress]`,
    options: {
      uuid: [ID, 'one app'],
      uuids: ['A,B,C', 'several apps'],
      parent: [ID, 'the direct children of an app'],
      any: 'end when the first of them ends',
      all: 'end when all of them have ended',
      timeout: [SECONDS, 'give up after S seconds (exit 3)'],
      progress: 'print status events on stderr',
    },
    details: `Prints the Result payload (the Error payload on failure) on stdout; --json prints the outcome
({app_id, status, exit_code, result|error|crash_type}), an array of them with --all.
Exit codes: 0 succeeded, 1 failed, 2 crashed (crashed, lost_contact, start_failed),
3 timeout, 4 cancelled; an app that does not exist: 1 and "no app ID" on stderr.
With --all, the code of the first app that did not succeed (0 when all did).`,
  },
};
