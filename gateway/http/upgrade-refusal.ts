/**
 * Refuses a WebSocket upgrade with an HTTP answer a client can read: the
 * status, an X-Trails-Refused header naming the code (for clients that show
 * only headers) and the API's JSON error body (docs/API.md, docs/PROTOCOL.md).
 */
import type { Duplex } from 'node:stream';

const STATUS_LINE: Record<number, string> = { 429: 'Too Many Requests', 503: 'Service Unavailable' };

export function refuseUpgrade(socket: Duplex, status: 429 | 503, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_LINE[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `X-Trails-Refused: ${code}\r\nRetry-After: ${status === 429 ? 60 : 5}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
