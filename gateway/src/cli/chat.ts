import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  ClientError,
  FileStore,
  HuitongClient,
  MemoryStore,
  describeBody,
  isClientError,
  type DirectorySnapshot,
  type HuitongClientOptions,
} from '../../../client/src/index.js';
import { EXIT_CODES } from '../errors/registry.js';
import {
  MAX_TEXT_CHARS,
  type Conversation,
  type GroupId,
  type MessageView,
  type UserId,
} from '../protocol/client-v1.js';

/** Where runChat writes; process.stdout/stderr unless a caller (a test) supplies its own. */
export interface ChatIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `usage: huitong chat --server URL --user ACCOUNT --password PASSWORD [options] COMMAND

  --server URL        wss://HOST:7443/ws (path defaults to /ws) or tls://HOST:7006
  --insecure          accept any server certificate (lab use only)
  --ca FILE           PEM file of the private CA that signed the server certificate
  --user ACCOUNT      account to sign in with
  --password PASSWORD
  --device-id ID      device id to sign in as (default: derived from host and account)
  --state FILE        keep the session, read position and unsent messages in FILE
  --json              print JSON lines
  --timeout-ms MS     give up after MS milliseconds

commands:
  send TARGET TEXT    TARGET is an account, group:NAME or group:#ID
  listen [--count N]  print messages as they arrive; stop after N messages
`;

const DEFAULT_SEND_TIMEOUT_MS = 30_000;

class UsageError extends Error {}

interface ChatArgs {
  url: string;
  insecure: boolean;
  caFile: string | undefined;
  user: string;
  password: string;
  deviceId: string | undefined;
  stateFile: string | undefined;
  json: boolean;
  timeoutMs: number | undefined;
  count: number | undefined;
  command: 'send' | 'listen';
  target: string;
  text: string;
}

/**
 * `huitong chat ...`: a command-line client for sending and watching messages.
 * `args` are the words after `chat`. Returns the process exit code.
 */
export async function runChat(args: string[], io: ChatIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: ChatArgs | 'help';
  try {
    parsed = parseChatArgs(args);
  } catch (err) {
    io.stderr.write(`huitong chat: ${(err as Error).message}\n${USAGE}`);
    return EXIT_CODES.USAGE;
  }
  if (parsed === 'help') {
    io.stdout.write(USAGE);
    return EXIT_CODES.OK;
  }
  let client: HuitongClient;
  try {
    client = await buildClient(parsed);
  } catch (err) {
    io.stderr.write(`huitong chat: ${(err as Error).message}\n`);
    return EXIT_CODES.USAGE;
  }
  try {
    return parsed.command === 'send' ? await runSend(client, parsed, io) : await runListen(client, parsed, io);
  } catch (err) {
    return report(err, io, parsed);
  } finally {
    await client.close();
  }
}

function parseChatArgs(args: string[]): ChatArgs | 'help' {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        ca: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'device-id': { type: 'string' },
        state: { type: 'string' },
        json: { type: 'boolean', default: false },
        count: { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (command !== 'send' && command !== 'listen') {
    throw new UsageError(command === undefined ? 'missing command (send or listen).' : `unknown command "${command}".`);
  }
  if (!values.server) throw new UsageError('--server is required.');
  if (!values.user) throw new UsageError('--user is required.');
  if (values.password === undefined) throw new UsageError('--password is required.');
  const deviceId = values['device-id'];
  if (deviceId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(deviceId)) {
    throw new UsageError('--device-id must be 1-64 characters of A-Z a-z 0-9 . _ -');
  }
  let target = '';
  let text = '';
  if (command === 'send') {
    if (values.count !== undefined) throw new UsageError('--count applies to listen only.');
    const [to, ...words] = rest;
    if (!to || words.length === 0) throw new UsageError('send needs a target and a text.');
    target = to;
    text = words.join(' ');
    if (text.trim() === '') throw new UsageError('the text is empty.');
    if (text.length > MAX_TEXT_CHARS) throw new UsageError(`the text is longer than ${MAX_TEXT_CHARS} characters.`);
  } else if (rest.length > 0) {
    throw new UsageError(`listen takes no arguments (got "${rest.join(' ')}").`);
  }
  return {
    url: normaliseServerUrl(values.server),
    insecure: values.insecure,
    caFile: values.ca,
    user: values.user,
    password: values.password,
    deviceId,
    stateFile: values.state,
    json: values.json,
    timeoutMs: positiveInt(values['timeout-ms'], '--timeout-ms'),
    count: positiveInt(values.count, '--count'),
    command,
    target,
    text,
  };
}

function positiveInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`${name} must be a positive whole number (got "${raw}").`);
  }
  return Number(raw);
}

function normaliseServerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server "${raw}" is not a URL; use wss://HOST:7443/ws or tls://HOST:7006.`);
  }
  if (url.protocol === 'wss:' || url.protocol === 'ws:') {
    if (url.pathname === '' || url.pathname === '/') url.pathname = '/ws';
    return url.toString();
  }
  if (url.protocol === 'tls:' || url.protocol === 'tcp:') {
    if (!url.hostname) throw new UsageError(`--server "${raw}" names no host.`);
    return raw;
  }
  throw new UsageError(`--server "${raw}": use wss://HOST:7443/ws or tls://HOST:7006.`);
}

async function buildClient(a: ChatArgs): Promise<HuitongClient> {
  let ca: string | undefined;
  if (a.caFile !== undefined) {
    try {
      ca = await readFile(a.caFile, 'utf8');
    } catch (err) {
      throw new Error(`cannot read --ca ${a.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // Without a state file there is nowhere to keep a generated id, so derive a stable one;
  // send and listen get different ids so that one never displaces the other.
  const deviceId =
    a.deviceId ??
    (a.stateFile === undefined
      ? `cli-${createHash('sha256').update(`${hostname()}\0${a.user.toLowerCase()}`).digest('hex').slice(0, 16)}-${a.command}`
      : undefined);
  const options: HuitongClientOptions = {
    url: a.url,
    insecure: a.insecure,
    ...(ca !== undefined ? { ca } : {}),
    credentials: { account: a.user, password: a.password },
    device: { ...(deviceId !== undefined ? { id: deviceId } : {}), type: 'cli', name: `huitong chat on ${hostname()}` },
    store: a.stateFile !== undefined ? new FileStore(a.stateFile) : new MemoryStore(),
    receive: a.command === 'listen',
    clientName: 'huitong-chat',
    maxDelayMs: 10_000,
  };
  return new HuitongClient(options);
}

async function runSend(client: HuitongClient, a: ChatArgs, io: ChatIo): Promise<number> {
  const timeoutMs = a.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const me = await withDeadline(client.connect(), deadline, 'connect');
  const to = await withDeadline(resolveTarget(client, a.target, me.user.id), deadline, 'look up the target');
  const ack = await withDeadline(client.sendText(to, a.text), deadline, 'be acknowledged');
  io.stdout.write(
    a.json ? `${JSON.stringify({ id: ack.id, seq: ack.seq, ts: ack.ts, duplicate: ack.duplicate })}\n` : `sent: message ${ack.id}, seq ${ack.seq}\n`,
  );
  return EXIT_CODES.OK;
}

function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ClientError('CLIENT_TIMEOUT', `Timed out waiting to ${what}.`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

async function resolveTarget(client: HuitongClient, target: string, me: UserId): Promise<Conversation> {
  if (target.startsWith('group:')) {
    const name = target.slice('group:'.length);
    if (/^#\d+$/.test(name)) return { kind: 'group', id: Number(name.slice(1)) as GroupId };
    if (name === '') throw new UsageError('group: needs a name or #ID.');
    const dir = await client.dirSnapshot();
    const exact = dir.groups.filter((g) => g.name === name);
    const candidates = exact.length > 0 ? exact : dir.groups.filter((g) => g.name.toLowerCase() === name.toLowerCase());
    const mine = candidates.filter((g) => g.memberIds.includes(me));
    const found = mine.length > 0 ? mine : candidates;
    const [group, ...others] = found;
    if (!group) throw new ClientError('GW_NOT_FOUND', `No group named "${name}".`);
    if (others.length > 0) {
      const ids = found.map((g) => `group:#${g.id}`).join(', ');
      throw new ClientError('GW_CONFLICT', `Several groups are named "${name}"; use one of ${ids}.`);
    }
    return { kind: 'group', id: group.id };
  }
  const dir = await client.dirSnapshot();
  const user = dir.users.find((u) => u.account.toLowerCase() === target.toLowerCase());
  if (!user) throw new ClientError('GW_NOT_FOUND', `No user with account "${target}".`);
  return { kind: 'user', id: user.id };
}

async function runListen(client: HuitongClient, a: ChatArgs, io: ChatIo): Promise<number> {
  const queue: MessageView[] = [];
  let received = 0;
  let outcome: ListenOutcome | null = null;
  let wake: () => void = () => undefined;
  const finish = (o: ListenOutcome, disconnect: boolean): void => {
    if (outcome) return;
    outcome = o;
    // Stop deliveries at once, so a saved read position never passes what was printed.
    client.pauseMessages();
    // After --count the connection stays up until the queue is printed, since names may need the directory.
    if (disconnect) void client.close();
    wake();
  };
  client.on('message', (m) => {
    if (outcome) return;
    received++;
    queue.push(m);
    if (a.count !== undefined && received >= a.count) finish({ kind: 'done' }, false);
    wake();
  });
  client.on('closed', (e) => {
    if (e.willReconnect) {
      io.stderr.write(`huitong chat: connection lost${e.code ? ` (${e.code}: ${e.reason})` : ''}; reconnecting\n`);
    } else if (e.code !== null) {
      finish({ kind: 'error', error: new ClientError(e.code, e.reason) }, true);
    }
  });
  const onSignal = (): void => finish({ kind: 'done' }, true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = a.timeoutMs === undefined ? undefined : setTimeout(() => finish({ kind: 'timeout' }, true), a.timeoutMs);
  try {
    try {
      await client.connect();
      const names = await DirectoryNames.load(client);
      for (;;) {
        const m = queue.shift();
        if (m) {
          io.stdout.write(`${await formatMessage(m, names, client, a.json)}\n`);
        } else if (outcome) {
          break;
        } else {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      }
    } catch (err) {
      // A failure caused by stopping (a signal during connect) is not an error.
      if (!outcome) throw err;
    }
    const end = outcome as ListenOutcome | null;
    if (end?.kind === 'error') throw end.error;
    if (end?.kind === 'timeout' && a.count !== undefined) {
      throw new ClientError('CLIENT_TIMEOUT', `Received ${received} of ${a.count} messages within ${a.timeoutMs} ms.`);
    }
    return EXIT_CODES.OK;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

type ListenOutcome = { kind: 'done' } | { kind: 'timeout' } | { kind: 'error'; error: ClientError };

/** Account and group names for ids, refreshed from directory deltas when an id is unknown. */
class DirectoryNames {
  private readonly users = new Map<number, string>();
  private readonly groups = new Map<number, string>();
  private version = 0;

  static async load(client: HuitongClient): Promise<DirectoryNames> {
    const names = new DirectoryNames();
    try {
      names.apply(await client.dirSnapshot());
    } catch {
      // Names are cosmetic: ids are printed instead.
    }
    return names;
  }

  async user(id: UserId, client: HuitongClient): Promise<string> {
    if (!this.users.has(id)) await this.refresh(client);
    return this.users.get(id) ?? `#${id}`;
  }

  async group(id: GroupId, client: HuitongClient): Promise<string> {
    if (!this.groups.has(id)) await this.refresh(client);
    return this.groups.get(id) ?? `#${id}`;
  }

  private apply(d: Pick<DirectorySnapshot, 'version' | 'users' | 'groups'>): void {
    this.version = Math.max(this.version, d.version);
    for (const u of d.users) this.users.set(u.id, u.account);
    for (const g of d.groups) this.groups.set(g.id, g.name);
  }

  private async refresh(client: HuitongClient): Promise<void> {
    try {
      const delta = await client.dirDelta(this.version);
      this.apply(delta.resetRequired ? await client.dirSnapshot() : delta);
    } catch {
      // Names are cosmetic: print ids rather than fail.
    }
  }
}

async function formatMessage(m: MessageView, names: DirectoryNames, client: HuitongClient, json: boolean): Promise<string> {
  const to = m.to.kind === 'app' ? `app:${m.to.id}` : m.to.kind === 'group' ? `group:${await names.group(m.to.id, client)}` : await names.user(m.to.id, client);
  const text = describeBody(m);
  const from = m.fromApp ? `app:${m.fromApp.id}` : m.fromAccount;
  if (json) return JSON.stringify({ seq: m.seq, id: m.id, from, to, kind: m.kind, text, ts: m.ts });
  return `[${new Date(m.ts).toISOString()}] #${m.seq} ${from} -> ${to}: ${text}`;
}

function report(err: unknown, io: ChatIo, a: ChatArgs): number {
  if (err instanceof UsageError) {
    io.stderr.write(`huitong chat: ${err.message}\n`);
    return EXIT_CODES.USAGE;
  }
  if (!isClientError(err)) {
    io.stderr.write(`huitong chat: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_CODES.FAILURE;
  }
  let message = err.message;
  if (err.code === 'CLIENT_TLS_UNTRUSTED' && !a.insecure) message += ' Give the CA with --ca FILE, or use --insecure in a lab.';
  io.stderr.write(`huitong chat: ${err.code}: ${message}\n`);
  if (err.code === 'CLIENT_UNREACHABLE' || err.code === 'CLIENT_TLS_UNTRUSTED') return EXIT_CODES.SERVER_UNREACHABLE;
  if (err.code === 'CLIENT_BAD_URL') return EXIT_CODES.USAGE;
  return EXIT_CODES.FAILURE;
}
