/**
 * Reconnects with tokens as fast as it can: reads tokens (one per line) from
 * stdin, and for each opens a TLS WebSocket, says hello, resumes, and closes,
 * with `concurrency` in flight. Prints {"ok":N,"failed":N,"ms":T}.
 */
import { Connection, openTransport, performHandshake, TlsSessionCache } from '../../client/src/index.js';

const url = process.argv[2] as string;
const concurrency = Number(process.argv[3] ?? 16);
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const tokens = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
let next = 0;
let ok = 0;
let failed = 0;
// what a reconnecting client does: resume its TLS session (the library keeps one cache per client)
const tlsSessions = process.env.BENCH_FULL_TLS ? undefined : new TlsSessionCache();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < tokens.length) {
      const token = tokens[next++] as string;
      try {
        const transport = await openTransport(url, { insecure: true, ...(tlsSessions ? { tlsSessions } : {}) });
        const conn = new Connection(transport, { requestTimeoutMs: 30_000 }, { push: () => undefined, closed: () => undefined });
        await performHandshake(conn, { clientName: 'bench-resume', token, credentials: null, device: { id: 'x', type: 'cli' } });
        ok++;
        transport.close();
      } catch {
        failed++;
      }
    }
  }),
);
process.stdout.write(JSON.stringify({ ok, failed, ms: performance.now() - t0 }) + '\n');
process.exit(0);
