/**
 * The transport ceiling: a bare WebSocket relay over the same TLS, with no
 * storage, no validation, no sequencing. A client connects to /?id=N; a text
 * frame {"to":M,"k":"..."} is forwarded as is to client M and answered with
 * {"ack":"..."} to the sender — the same frame count per message as the
 * gateway's ack + push. Prints "relay <port>" when listening.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';

const dataDir = process.argv[2] as string;
const server = https.createServer({ cert: readFileSync(path.join(dataDir, 'tls/self-signed.crt')), key: readFileSync(path.join(dataDir, 'tls/self-signed.key')) });
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 256 * 1024 });
const clients = new Map<number, WebSocket>();
wss.on('connection', (ws, req) => {
  const id = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('id'));
  clients.set(id, ws);
  ws.on('message', (data) => {
    const text = data.toString();
    const m = JSON.parse(text) as { to: number; k: string };
    clients.get(m.to)?.send(text);
    ws.send(`{"ack":${JSON.stringify(m.k)}}`);
  });
  ws.on('close', () => clients.delete(id));
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`relay ${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
