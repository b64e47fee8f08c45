/**
 * Driver scripts for the reference Python client, written to a temp dir at
 * test time. They use only the client's public API (plus the standard
 * library) and print one word per milestone, which the test waits for.
 * Arguments: SERVER_EP APP_ID APP_NAME (the TRAILS_INFO driver reads the env).
 */

const PRELUDE = `
import logging, os, sys, time
from trails import TrailsClient, TrailsConfig

logging.basicConfig(level=os.environ.get("TRAILS_LOG", "WARNING"))

def say(word):
    print(word, flush=True)

def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            say("timeout " + what)
            sys.exit(3)
        time.sleep(0.02)

def client_from_args():
    server, app_id, name = sys.argv[1], sys.argv[2], sys.argv[3]
    return TrailsClient.init_with(TrailsConfig(app_id=app_id, app_name=name, server_ep=server))

def finish(client):
    # After Result/Error the gateway closes the socket; only then is
    # everything queued sent, so shutdown() cannot cut it short.
    wait_for(lambda: not client.is_connected, 10, "close after the terminal message")
    client.shutdown()
    say("done")
`;

export const LIFECYCLE = `${PRELUDE}
c = client_from_args()
wait_for(lambda: c.is_connected, 10, "register")
say("registered")
c.status({"phase": "loading", "progress": 0.25})
c.status({"phase": "processing", "progress": 0.75})
c.result({"rows_scanned": 100000, "pii_columns_found": 4})
finish(c)
`;

export const ERROR = `${PRELUDE}
c = client_from_args()
wait_for(lambda: c.is_connected, 10, "register")
say("registered")
c.status({"phase": "scanning"})
c.error("OutOfMemoryError processing table customers", {"row_number": 50231, "batch": 7})
finish(c)
`;

/** Reports until the gateway goes away, waits for the client's own re_register, then reports on. */
export const RECONNECT = `${PRELUDE}
c = client_from_args()
wait_for(lambda: c.is_connected, 10, "register")
say("registered")
n = 0
deadline = time.monotonic() + 30
while c.is_connected:
    if time.monotonic() > deadline:
        say("timeout gateway stop")
        sys.exit(3)
    n += 1
    c.status({"phase": "before", "n": n})
    time.sleep(0.1)
say("lost")
wait_for(lambda: c.is_connected, 30, "re_register")
say("back")
for _ in range(3):
    n += 1
    c.status({"phase": "after", "n": n})
    time.sleep(0.1)
c.result({"phase": "after", "n": n + 1})
finish(c)
`;

export const FROM_ENV = `${PRELUDE}
c = TrailsClient.init()
if not c.is_active:
    say("noop")
    sys.exit(4)
wait_for(lambda: c.is_connected, 10, "register")
say("registered")
c.status({"phase": "from-env"})
c.result({"ok": True})
finish(c)
`;
