/**
 * Holds authenticated WSS connections of real client-protocol sessions for
 * bench:openapi: reads device tokens (one per line) from stdin, resumes each
 * over its own TLS WebSocket (a bounded number of handshakes in flight),
 * prints {"held":N,"failed":N}, then counts the message pushes from an app
 * (`msg` frames whose `to.kind` is `app`) each connection receives. When every
 * held connection has received `expect` of them it prints {"done":<epoch ms>}
 * — the moment the last one arrived — with how many got it and how many
 * connections had closed (a closed one never gets it). Each connection
 * pings when idle, as a client does, so the server keeps it. Runs until SIGTERM.
 */
import { Connection, openTransport, performHandshake } from '../../client/src/index.js';
import type { MessageView } from '../../gateway/src/protocol/client-v1.js';

const url = process.argv[2] as string;
const concurrency = Number(process.argv[3] ?? 64);
const expect = Number(process.argv[4] ?? 1);
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const tokens = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
const held: Connection[] = [];
let failed = 0;
let firstError = '';
let next = 0;
let complete = 0;
let ready = false;
let closed = 0;
const counts = new Map<Connection, number>();

function check(): void {
  if (ready && complete + closed >= held.length) process.stdout.write(JSON.stringify({ done: Date.now(), got: complete, closed }) + '\n');
}

async function worker(): Promise<void> {
  while (next < tokens.length) {
    const token = tokens[next++] as string;
    try {
      const transport = await openTransport(url, { insecure: true, connectTimeoutMs: 60_000 });
      const conn: Connection = new Connection(transport, { requestTimeoutMs: 60_000 }, {
        push: (f) => {
          if (f.t !== 'msg' || (f.p as MessageView).to.kind !== 'app') return;
          const n = (counts.get(conn) ?? 0) + 1;
          counts.set(conn, n);
          if (n === expect) {
            complete += 1;
            check();
          }
        },
        closed: () => {
          if (held.includes(conn) && (counts.get(conn) ?? 0) < expect) {
            closed += 1;
            check();
          }
        },
      });
      const hs = await performHandshake(conn, { clientName: 'bench-openapi', token, credentials: null, device: { id: 'x', type: 'cli' } });
      held.push(conn);
      conn.startHeartbeat(hs.hello.heartbeatIntervalMs);
    } catch (e) {
      failed += 1;
      firstError ||= (e as Error).message;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(JSON.stringify({ held: held.length, failed, firstError }) + '\n');
ready = true;
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1 << 30);
