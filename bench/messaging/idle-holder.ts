/**
 * Holds many idle, authenticated WSS connections to a gateway: reads tokens
 * (one per line) from stdin, resumes each over its own TLS WebSocket with a
 * bounded number of handshakes in flight, then reports {"held":N,"failed":N}
 * on stdout and keeps them open (answering nothing, sending pings so the
 * server's heartbeat sweep keeps them) until SIGTERM.
 */
import { Connection, openTransport, performHandshake } from '../../client/src/index.js';

const url = process.argv[2] as string;
const concurrency = Number(process.argv[3] ?? 64);
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const tokens = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
const held: Connection[] = [];
let failed = 0;
let firstError = '';
let next = 0;
async function worker(): Promise<void> {
  while (next < tokens.length) {
    const token = tokens[next++] as string;
    try {
      const transport = await openTransport(url, { insecure: true, connectTimeoutMs: 30_000 });
      const conn = new Connection(transport, { requestTimeoutMs: 30_000 }, { push: () => undefined, closed: () => undefined });
      await performHandshake(conn, { clientName: 'bench-idle', token, credentials: null, device: { id: 'x', type: 'cli' } });
      held.push(conn);
    } catch (e) {
      failed += 1;
      firstError ||= (e as Error).message;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(JSON.stringify({ held: held.length, failed, firstError }) + '\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1 << 30);
