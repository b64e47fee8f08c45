/** Usage texts: `trails --help` and `trails COMMAND --help`. */

export const GLOBAL_HELP = `Global options:
  --server URL      the gateway (default: TRAILS_SERVER, else TRAILS_INFO's serverEp, else http://127.0.0.1:8443)
  --data-dir DIR    the gateway's data directory, where the admin key is (default: TRAILS_DATA_DIR, else ./data)
  --json            machine output: one JSON document on stdout
  --help            this text, or a command's

Identity: with TRAILS_APP_ID and TRAILS_APP_KEY set (eval "$(trails register)"), requests are
signed as that app and reach its subtree; otherwise the local admin key (DIR/admin.key) signs.

Exit codes: 0 ok; 1 failed (or the request failed; stderr says why); 64 bad command line.
trails wait: 0 succeeded, 1 failed, 2 crashed (crashed, lost_contact, start_failed), 3 timeout, 4 cancelled.`;

export const COMMANDS: Record<string, { summary: string; usage: string }> = {
  tree: {
    summary: 'the tree under an app, or every tree',
    usage: `Usage: trails tree [--uuid ID]

Draws the tree under ID (default: TRAILS_APP_ID; as the admin without it, every tree):
  name (8-char id) [status ▶ progress%] exe@host:pid`,
  },
  children: {
    summary: "an app's children",
    usage: `Usage: trails children [--uuid ID] [--status STATUS] [--recursive]

Lists the children of ID (default: TRAILS_APP_ID); --recursive lists the whole subtree.`,
  },
  status: {
    summary: "query an app's status, or report one as the registered app",
    usage: `Usage: trails status --uuid ID        the status of ID now (never blocks)
       trails status JSON             report a Status message as the registered app
                                      (waits for the gateway's durable ack; --timeout S, default 10)

Without either, queries TRAILS_APP_ID.`,
  },
  result: {
    summary: 'report the result of the registered app (it ends the app: done)',
    usage: `Usage: trails result JSON [--timeout S]

Sends the Result as the registered app and waits for the durable ack (default 10 s).`,
  },
  error: {
    summary: 'report the failure of the registered app (it ends the app: error)',
    usage: `Usage: trails error MESSAGE [--detail JSON] [--timeout S]

Sends an Error {message, detail} as the registered app and waits for the durable ack.`,
  },
  shutdown: {
    summary: 'end the registered app (disconnect completed)',
    usage: `Usage: trails shutdown [--reason completed|error|failed] [--timeout S]

Disconnects the registered app (done; error with --reason error or failed) and waits until
the gateway has stored it.`,
  },
  register: {
    summary: 'register this shell as a TRAILS node; prints exports to eval',
    usage: `Usage: eval "$(trails register [--name NAME] [--parent ID] [--sec-level open|signed|full])"

Registers this shell as an app and prints
  export TRAILS_APP_ID=… TRAILS_APP_KEY=… TRAILS_INFO=…
A session agent holds the registration until trails result, error or shutdown; if the shell
exits without them, the app is marked crashed. With a TRAILS_INFO from a parent (trails
child-info) the shell registers as that child; else its parent is --parent, or the app this
shell already is (TRAILS_APP_ID), or none.`,
  },
  'child-info': {
    summary: 'declare a child and print its TRAILS_INFO',
    usage: `Usage: trails child-info [--name NAME] [--parent ID] [--deadline S] [--tags JSON] [--export VAR]

Declares a child of ID (default: TRAILS_APP_ID) with a new UUID (scheduled; start_failed if it
has not registered within --deadline seconds, default 300) and prints its TRAILS_INFO.
--json prints {appId, parentId, trailsInfo}; --export VAR prints
  export VAR=<TRAILS_INFO> VAR_APP_ID=<uuid>
for eval.`,
  },
  send: {
    summary: 'send a control to an app and print its answer',
    usage: `Usage: trails send UUID ACTION [--payload JSON] [--timeout S]

Prints the device's result. Exit 1 when it refuses (ack:false), 3 when it does not answer
within --timeout seconds (default 10; the control stays queued until it expires).`,
  },
  cancel: {
    summary: 'cancel an app, or its whole subtree',
    usage: `Usage: trails cancel [--uuid ID] [--cascade] [--grace S] [--reason TEXT]

Cancels ID (default: TRAILS_APP_ID) and with --cascade its subtree, bottom-up; prints what
happened to each node. An app cannot cancel itself: run as the app with no --uuid, it
cancels its children (and with --cascade their subtrees) instead.`,
  },
  wait: {
    summary: 'wait for apps to end (distributed waitpid)',
    usage: `Usage: trails wait --uuid ID [--timeout S] [--progress]
       trails wait --uuids A,B,C --any|--all [--timeout S] [--progress]
       trails wait --parent ID --any|--all [--timeout S] [--progress]

Prints the Result payload (the Error payload on failure) on stdout; --json prints the outcome
({app_id, status, exit_code, result|error|crash_type}), an array of them with --all.
--progress prints status events on stderr. --parent waits for its direct children.
Exit codes: 0 succeeded, 1 failed, 2 crashed (crashed, lost_contact, start_failed),
3 timeout, 4 cancelled; an app that does not exist: 1 and "no app ID" on stderr.
With --all, the code of the first app that did not succeed (0 when all did).`,
  },
};

export function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: trails COMMAND [options]

Commands:
${lines.join('\n')}

${GLOBAL_HELP}`;
}
