import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { hashToken } from '../../gateway/src/auth/service.js';
import { SqliteDeviceRepo } from '../../gateway/src/devices/repo.js';
import type { ClientType, MessageView, UserId } from '../../gateway/src/protocol/client-v1.js';
import {
  HuitongClient,
  isClientError,
  openTransport,
  type HuitongClientEvents as ClientEvents,
  type HuitongClientOptions,
  type Transport,
  type TransportFactory,
} from '../../client/src/index.js';
import { TEST_PASSWORD, type TestGateway } from './gateway.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A bound on every wait in the integration tests: long enough for a loaded 2-core machine, short enough to fail clearly. */
export const WAIT_MS = 10_000;

let deviceCounter = 0;
/** A device id no other client of this process uses. */
export function uniqueDeviceId(prefix = 'dev'): string {
  return `${prefix}-${process.pid}-${++deviceCounter}-${randomBytes(3).toString('hex')}`;
}

/** Resolves with the promise's value, or rejects naming `what` once `ms` passed. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The code of a rejected client call (ClientError.code), or a failure naming what resolved instead. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return isClientError(e) ? e.code : `not a ClientError: ${String(e)}`;
  }
  return 'resolved (expected a refusal)';
}

/** Waits for the next `event` of a client whose payload satisfies `match`. */
export function nextEvent<K extends keyof ClientEvents>(
  client: HuitongClient,
  event: K,
  match: (p: ClientEvents[K]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<ClientEvents[K]> {
  let listener: ((p: ClientEvents[K]) => void) | undefined;
  const seen = new Promise<ClientEvents[K]>((resolve) => {
    listener = (p) => {
      if (match(p)) resolve(p);
    };
    client.on(event, listener);
  });
  return within(seen, ms, `client event '${String(event)}'`).finally(() => {
    if (listener) client.off(event, listener);
  });
}

/**
 * Every 'message' a client delivered, in delivery order, and a way to wait until
 * what arrived satisfies a condition.
 */
export class Inbox {
  readonly messages: MessageView[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(readonly client: HuitongClient) {
    client.on('message', (m) => {
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.check()) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Waits until `check` holds over the messages received so far. */
  until(check: (messages: MessageView[]) => boolean, what: string, ms = WAIT_MS): Promise<MessageView[]> {
    if (check(this.messages)) return Promise.resolve(this.messages);
    const done = new Promise<MessageView[]>((resolve) => {
      this.waiters.push({ check: () => check(this.messages), resolve: () => resolve(this.messages) });
    });
    return within(done, ms, `${what} (have ${this.messages.length} message(s))`);
  }

  /** Waits for the message with this id and returns it. */
  async byId(id: number, what = `message ${id}`, ms = WAIT_MS): Promise<MessageView> {
    await this.until((ms) => ms.some((m) => m.id === id), what, ms);
    return this.messages.find((m) => m.id === id) as MessageView;
  }

  count(id: number): number {
    return this.messages.filter((m) => m.id === id).length;
  }
}

export interface ConnectOptions extends Partial<HuitongClientOptions> {
  /** 'wss' (default) or 'tcp' (TLS TCP). */
  via?: 'wss' | 'tcp';
  deviceType?: ClientType;
  password?: string;
}

/**
 * A client of the test gateway that verifies its certificate, with a unique
 * device id. Not connected yet; closed at teardown.
 */
export function makeClient(t: Teardown, gw: TestGateway, account: string | null, opts: ConnectOptions = {}): HuitongClient {
  const { via, deviceType, password, ...rest } = opts;
  const client = new HuitongClient({
    url: via === 'tcp' ? gw.tcp : gw.wss,
    ca: gw.ca,
    device: { id: uniqueDeviceId(account ?? 'tok'), type: deviceType ?? (via === 'tcp' ? 'desktop' : 'web') },
    ...(account !== null ? { credentials: { account, password: password ?? TEST_PASSWORD } } : {}),
    minDelayMs: 50,
    maxDelayMs: 500,
    ...rest,
  });
  t.teardown(() => client.close());
  return client;
}

/** Logs a client in and returns it with an Inbox already listening. */
export async function online(t: Teardown, gw: TestGateway, account: string, opts: ConnectOptions = {}): Promise<{ client: HuitongClient; inbox: Inbox }> {
  const client = makeClient(t, gw, account, opts);
  const inbox = new Inbox(client);
  await within(client.connect(), WAIT_MS, `${account} to log in`);
  return { client, inbox };
}

/**
 * Creates a device for a user and a session token for it straight in the
 * database, as a login would, without password hashing or the login rate limit.
 */
export async function issueToken(gw: TestGateway, userId: UserId, deviceKey: string, type: ClientType = 'web'): Promise<string> {
  const repo = new SqliteDeviceRepo(gw.gw.services.db);
  const device = await repo.upsertDevice(userId, deviceKey, type, deviceKey, null, null);
  const token = randomBytes(32).toString('base64url');
  await repo.issueToken(device.id, hashToken(token), Date.now() + 86_400_000);
  return token;
}

/** A transport factory that records the type of every frame the client sends. */
export function countingTransport(sent: string[]): TransportFactory {
  return async (url, opts) => {
    const inner = await openTransport(url, opts);
    const wrapped: Transport = {
      send(frame: object): void {
        sent.push(String((frame as { t?: unknown }).t));
        inner.send(frame);
      },
      close: () => inner.close(),
      get isOpen() {
        return inner.isOpen;
      },
      on(event, listener) {
        inner.on(event, listener);
        return this;
      },
      off(event, listener) {
        inner.off(event, listener);
        return this;
      },
    };
    return wrapped;
  };
}

export interface HttpsResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON when it is JSON, else null. */
  json: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } & Record<string, unknown> | null;
}

/**
 * One HTTPS request to the gateway, verifying its certificate. `body` may be a
 * Buffer (sent with Content-Length) or an async producer that writes chunks
 * (sent chunked) until the response arrives.
 */
export function httpsRequest(
  gw: TestGateway,
  method: string,
  path: string,
  opts: { token?: string; headers?: Record<string, string>; body?: Buffer | ((write: (chunk: Buffer) => Promise<boolean>) => Promise<void>) } = {},
): Promise<HttpsResult> {
  const u = new URL(gw.https);
  return within(
    new Promise<HttpsResult>((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (Buffer.isBuffer(opts.body)) {
        headers['content-type'] ??= 'application/octet-stream';
        headers['content-length'] ??= String(opts.body.length);
      } else if (opts.body) {
        headers['content-type'] ??= 'application/octet-stream';
        headers['transfer-encoding'] = 'chunked';
      }
      let answered = false;
      const req = https.request({ host: u.hostname, port: u.port, method, path, ca: gw.ca, headers, agent: false }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: HttpsResult['json'] = null;
          if (String(res.headers['content-type'] ?? '').includes('json')) {
            try {
              json = JSON.parse(body.toString('utf8')) as HttpsResult['json'];
            } catch {
              json = null;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      });
      // the server may close the connection while a refused body is still being written
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!answered) reject(e);
      });
      if (Buffer.isBuffer(opts.body)) req.end(opts.body);
      else if (opts.body) {
        const produce = opts.body;
        const write = (chunk: Buffer) =>
          new Promise<boolean>((res) => {
            if (answered || req.destroyed) return res(false);
            req.write(chunk, (err) => res(!err && !answered));
          });
        produce(write).then(() => {
          if (!answered && !req.destroyed) req.end();
        }, reject);
      } else req.end();
    }),
    WAIT_MS,
    `${method} ${path}`,
  );
}
