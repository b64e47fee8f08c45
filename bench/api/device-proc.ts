/**
 * Child process of bench/api/run.ts: simulated devices, many apps on a few
 * WebSockets (open tier: no signing, so this process stays cheap next to the
 * gateway). Commands arrive over IPC:
 *   setup {wsUrl, links, apps:[{appId, parentId, name, depth}]}  → registers level by level
 *   blast {ms, window}  → each app keeps `window` Status messages in flight; replies acks
 *   close
 * Every app answers every control at once with ack:true.
 */
import WebSocket from 'ws';

interface AppSpec {
  appId: string;
  parentId: string | null;
  name: string;
  depth: number;
}

interface Link {
  ws: WebSocket;
  apps: AppSpec[];
  byId: Map<string, AppSpec>;
}

const links: Link[] = [];
const seq = new Map<string, number>();
const registered = new Set<string>();
let onRegistered: (() => void) | undefined;
let acks = 0;
let blasting = false;
let window = 1;

function send(link: Link, frame: object): void {
  link.ws.send(JSON.stringify(frame));
}

function status(link: Link, app: AppSpec): void {
  const s = (seq.get(app.appId) ?? 0) + 1;
  seq.set(app.appId, s);
  send(link, { type: 'message', app_id: app.appId, header: { msg_type: 'Status', timestamp: Date.now(), seq: s, correlation_id: null }, payload: { progress: s % 100, rows: s * 10 }, sig: null });
}

function onFrame(link: Link, f: Record<string, unknown>): void {
  if (f.type === 'ack') {
    acks++;
    const app = link.byId.get(String(f.app_id));
    if (blasting && app) status(link, app);
  } else if (f.type === 'registered') {
    registered.add(String(f.app_id));
    onRegistered?.();
  } else if (f.type === 'control') {
    send(link, { type: 'control_response', app_id: f.app_id, correlation_id: f.correlation_id, ack: true, result: { cancelled: f.action === 'cancel' }, timestamp: Date.now(), sig: null });
  } else if (f.type === 'error') {
    process.send!({ error: f });
  }
}

async function setup(wsUrl: string, n: number, apps: AppSpec[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const link: Link = { ws, apps: [], byId: new Map() };
    ws.on('message', (d) => onFrame(link, JSON.parse(String(d)) as Record<string, unknown>));
    links.push(link);
  }
  apps.forEach((a, i) => {
    const link = links[i % n]!;
    link.apps.push(a);
    link.byId.set(a.appId, a);
  });
  const depths = [...new Set(apps.map((a) => a.depth))].sort((a, b) => a - b);
  // Parents must exist before their children register (unknown_parent otherwise).
  for (const d of depths) {
    const level = apps.filter((a) => a.depth === d);
    const done = new Promise<void>((resolve) => {
      onRegistered = () => level.every((a) => registered.has(a.appId)) && resolve();
    });
    for (const link of links) {
      for (const a of link.apps.filter((x) => x.depth === d)) {
        send(link, { type: 'register', app_id: a.appId, parent_id: a.parentId, app_name: a.name, child_pub_key: 'ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', process_info: { namespace: 'bench' }, sig: null });
      }
    }
    await done;
  }
}

/** Keeps `window` messages in flight per app for `ms`, counting the acks. */
async function blast(ms: number): Promise<{ acks: number; ms: number }> {
  acks = 0;
  blasting = true;
  const t0 = performance.now();
  for (const link of links) for (const a of link.apps) for (let i = 0; i < window; i++) status(link, a);
  await new Promise((r) => setTimeout(r, ms));
  blasting = false;
  const counted = acks;
  const elapsed = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300)); // let the tail drain before the next phase
  return { acks: counted, ms: elapsed };
}

process.on('message', (m: { cmd: string; [k: string]: unknown }) => {
  const reply = (v: object) => process.send!({ cmd: m.cmd, ...v });
  if (m.cmd === 'setup') void setup(m.wsUrl as string, m.links as number, m.apps as AppSpec[]).then(() => reply({ ok: true }), (e) => reply({ error: String(e) }));
  if (m.cmd === 'blast') {
    window = (m.window as number) ?? 1;
    void blast(m.ms as number).then(reply);
  }
  if (m.cmd === 'close') {
    for (const l of links) l.ws.terminate();
    reply({ ok: true });
    setTimeout(() => process.exit(0), 50);
  }
});
