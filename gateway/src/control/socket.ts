import { existsSync, mkdirSync, unlinkSync, chmodSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { Services } from '../services.js';
import { installErrorHandler } from '../edges/http/errors.js';
import { CONTROL_COMMANDS } from './commands.js';

/** The admin socket: <dataDir>/run/admin.sock, mode 0600, so only the server's OS user (and root) can administer it. */
export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, 'run', 'admin.sock');
}

/** True when something answers on the socket (a running server). */
export function socketAlive(file: string): Promise<boolean> {
  if (!existsSync(file)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = http.request({ socketPath: file, path: '/control/ping', method: 'POST', timeout: 1000, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end('{}');
  });
}

export class DataDirInUseError extends Error {}

/** Serves CONTROL_COMMANDS as POST /control/<name> with a JSON body of arguments. */
export async function startAdminSocket(dataDir: string, services: Services, log: Logger): Promise<FastifyInstance> {
  const file = adminSocketPath(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (await socketAlive(file)) throw new DataDirInUseError(`another Huitong server is running on ${dataDir}`);
  if (existsSync(file)) unlinkSync(file);
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  installErrorHandler(app, log);
  app.post('/control/ping', async () => ({ ok: true }));
  app.post('/control/:name', async (req) => {
    const name = (req.params as { name: string }).name;
    const cmd = Object.hasOwn(CONTROL_COMMANDS, name) ? CONTROL_COMMANDS[name] : undefined;
    if (!cmd) throw new GatewayError('GW_NOT_FOUND', `unknown command ${name}`);
    const args = (req.body ?? {}) as Record<string, unknown>;
    log.info({ command: name }, 'admin command');
    return { result: await cmd(services, args) };
  });
  await app.listen({ path: file });
  chmodSync(file, 0o600);
  return app;
}

/** Sends one command to a running server; rejects with a GatewayError-like object on failure. */
export function callAdminSocket(file: string, name: string, args: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(args);
    const req = http.request(
      { socketPath: file, path: `/control/${encodeURIComponent(name)}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: { code: string; message: string } };
            if (json.error) reject(Object.assign(new Error(json.error.message), { code: json.error.code }));
            else resolve(json.result);
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
