/**
 * Child process of bench/api/run.ts: watchers of one subtree, signed with
 * the gateway's admin key (read from its data directory). They count frames
 * and bytes, and the first also counts message events (without parsing), so
 * this process takes about as little CPU as quick consumers would.
 *   open {baseUrl, dataDir, parentId, count}  → resolves when all are caught up
 *   stats → {frames, bytes, events (of watcher 0)}
 *   close
 */
import WebSocket from 'ws';
import { readAdminKey } from '../../cli/admin-key.js';
import { signRequest } from '../../gateway/auth/request-signing.js';

const sockets: WebSocket[] = [];
const stats = { frames: 0, bytes: 0, events: 0 };
const MARK = Buffer.from('"type":"message"');

function countEvents(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(MARK); i !== -1; i = buf.indexOf(MARK, i + MARK.length)) n++;
  return n;
}

async function open(baseUrl: string, dataDir: string, parentId: string, count: number): Promise<void> {
  const key = readAdminKey(dataDir);
  const path = `/api/v1/watch?parent_id=${parentId}`;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, { headers: signRequest({ method: 'GET', path, key }), perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data: Buffer) => {
          if (data.includes('"type":"caught_up"')) return resolve();
          stats.frames++;
          stats.bytes += data.length;
          // One watcher counts events; the others only take delivery, as a quick consumer would.
          if (i === 0) stats.events += countEvents(data);
        });
      });
      sockets.push(ws);
    }),
  );
  stats.frames = stats.bytes = stats.events = 0;
}

process.on('message', (m: { cmd: string; [k: string]: unknown }) => {
  const reply = (v: object) => process.send!({ cmd: m.cmd, ...v });
  if (m.cmd === 'open') void open(m.baseUrl as string, m.dataDir as string, m.parentId as string, m.count as number).then(() => reply({ ok: true }), (e) => reply({ error: String(e) }));
  if (m.cmd === 'stats') reply({ ...stats });
  if (m.cmd === 'close') {
    for (const ws of sockets.splice(0)) ws.terminate();
    reply({ ok: true });
  }
});
