import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  DEFAULT_ORG_PAGE,
  HELPER_PROTOCOL_VERSION,
  HelperLineType,
  HelperMethod,
  MAX_CAPTURE_WAIT_MS,
  MAX_HELPER_LINE_BYTES,
  MAX_ORG_PAGE,
  SNAPSHOT_IDLE_TTL_MS,
  encodeHelperLine,
  type Department,
  type Group,
  type HelperError,
  type HelperErrorCode,
  type HelperLine,
  type MessageEventData,
  type User,
} from './helper-protocol.js';

/**
 * Plays the COM helper's part of docs/protocol/rtx-helper.md against a running simulator:
 * `node --import tsx rtx-adapter/sim/helper-main.ts --control http://127.0.0.1:PORT`
 * (or RTX_SIM_CONTROL_URL). Like the real JScript helper it is single-threaded in spirit:
 * requests are served one at a time, in order, and `message` events are only emitted while a
 * `capture.wait` is being served.
 */

const { values } = parseArgs({ options: { control: { type: 'string' } }, strict: false });
const controlUrl = String(values.control ?? process.env.RTX_SIM_CONTROL_URL ?? '');

class HelperFailure extends Error {
  constructor(
    readonly code: HelperErrorCode,
    message: string,
    readonly comCode?: number,
  ) {
    super(message);
  }
  toJSON(): HelperError {
    return { code: this.code, message: this.message, ...(this.comCode !== undefined ? { com_code: this.comCode } : {}) };
  }
}

function write(line: HelperLine | Record<string, unknown>): void {
  process.stdout.write(`${encodeHelperLine(line)}\r\n`);
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${controlUrl}${path}`, {
      method,
      headers: { 'x-rtx-helper': '1', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch {
    throw new HelperFailure('RTX_UNAVAILABLE', 'cannot reach the RTX server COM API');
  }
  const data = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
  if (res.ok) return data as T;
  if (res.status === 503) throw new HelperFailure('RTX_UNAVAILABLE', data.message ?? 'RTX unavailable');
  if (data.error === 'NO_SUCH_USER') throw new HelperFailure('NO_SUCH_USER', data.message ?? 'no such user', -984);
  if (data.error === 'NO_SUCH_GROUP') throw new HelperFailure('NO_SUCH_GROUP', data.message ?? 'no such group');
  if (data.error === 'NO_SUCH_DEPT') throw new HelperFailure('NO_SUCH_DEPT', data.message ?? 'no such department');
  throw new HelperFailure('RTX_COM_ERROR', data.message ?? `COM call failed (${res.status})`, -1);
}

interface SimUserJson extends Omit<User, 'dept_ids'> {
  dept_ids: number[];
}
interface Paged<T> {
  total: number;
  items: T[];
  next_offset: number | null;
}

async function fetchAll<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for (let offset: number | null = 0; offset !== null; ) {
    const page: Paged<T> = await call<Paged<T>>('GET', `${path}?offset=${offset}&limit=5000`);
    out.push(...page.items);
    offset = page.next_offset;
  }
  return out;
}

interface Snapshot {
  departments: Department[];
  users: User[];
  groups: Group[] | null;
  lastUsed: number;
}
const snapshots = new Map<string, Snapshot>();
let capturing = false;
let cursor = 0;

const toUser = (u: SimUserJson): User => ({
  account: u.account,
  name: u.name,
  uin: u.uin,
  gender: u.gender,
  mobile: u.mobile,
  email: u.email,
  phone: u.phone,
  position: u.position,
  account_state: u.account_state,
  dept_paths: u.dept_paths,
  dept_ids: u.dept_ids,
});

function snapshot(id: unknown): Snapshot {
  const now = Date.now();
  for (const [k, s] of snapshots) if (now - s.lastUsed > SNAPSHOT_IDLE_TTL_MS) snapshots.delete(k);
  const s = typeof id === 'string' ? snapshots.get(id) : undefined;
  if (!s) throw new HelperFailure('SNAPSHOT_EXPIRED', `unknown or expired snapshot: ${String(id)}`);
  s.lastUsed = now;
  return s;
}

function page<T>(snapshotId: string, all: T[], p: Record<string, unknown>) {
  const offset = Math.max(0, Math.trunc(Number(p.offset ?? 0)) || 0);
  const limit = Math.min(MAX_ORG_PAGE, Math.max(1, Math.trunc(Number(p.limit ?? DEFAULT_ORG_PAGE)) || DEFAULT_ORG_PAGE));
  return { snapshot_id: snapshotId, offset, total: all.length, items: all.slice(offset, offset + limit), next_offset: offset + limit < all.length ? offset + limit : null };
}

const strList = (v: unknown, name: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HelperFailure('BAD_REQUEST', `${name} must be a list of accounts`);
  return v as string[];
};

async function handle(method: string, p: Record<string, unknown>): Promise<unknown> {
  switch (method) {
    case HelperMethod.Ping:
      return { time_ms: Date.now() };
    case HelperMethod.OrgSummary:
      return call('GET', '/org/summary');
    case HelperMethod.OrgSnapshot: {
      const [depts, users, groups] = await Promise.all([
        fetchAll<Department & { id: number }>('/org/departments'),
        fetchAll<SimUserJson>('/org/users'),
        p.groups === false ? Promise.resolve(null) : fetchAll<Group>('/org/groups'),
      ]);
      const id = `{${randomUUID().toUpperCase()}}`;
      const departments = depts.map((d) => ({ id: d.id, parent_id: d.parent_id, name: d.name, path: d.path, parent_path: d.parent_path, sort_id: d.sort_id }));
      snapshots.set(id, { departments, users: users.map(toUser), groups, lastUsed: Date.now() });
      return { snapshot_id: id, departments: departments.length, users: users.length, groups: groups?.length ?? null, taken_ms: Date.now() };
    }
    case HelperMethod.OrgDepartments:
      return page(String(p.snapshot_id), snapshot(p.snapshot_id).departments, p);
    case HelperMethod.OrgUsers:
      return page(String(p.snapshot_id), snapshot(p.snapshot_id).users, p);
    case HelperMethod.OrgGroups: {
      const s = snapshot(p.snapshot_id);
      if (!s.groups) throw new HelperFailure('UNSUPPORTED', 'snapshot taken without groups');
      return page(String(p.snapshot_id), s.groups, p);
    }
    case HelperMethod.OrgRelease:
      snapshots.delete(String(p.snapshot_id));
      return {};
    case HelperMethod.OrgUser:
      if (typeof p.account !== 'string' || !p.account) throw new HelperFailure('BAD_REQUEST', 'account is required');
      return toUser(await call<SimUserJson>('GET', `/org/users/${encodeURIComponent(p.account)}`));
    case HelperMethod.PresenceQuery: {
      const accounts = strList(p.accounts, 'accounts');
      if (accounts.length === 0) return { states: {} };
      const r = await call<{ states: Record<string, 0 | 1 | 2 | null> }>('GET', `/presence?accounts=${accounts.map(encodeURIComponent).join(',')}`);
      return { states: r.states };
    }
    case HelperMethod.PresenceOnline:
      return { accounts: (await call<{ online: string[] }>('GET', '/presence')).online };
    case HelperMethod.SendNotify: {
      if (typeof p.msg !== 'string') throw new HelperFailure('BAD_REQUEST', 'msg is required');
      const receivers = p.receivers === 'all' ? 'all' : strList(p.receivers, 'receivers');
      await call('POST', '/com/send-notify', { receivers, title: p.title, msg: p.msg, delay_ms: p.delay_ms });
      return {};
    }
    case HelperMethod.SendIm: {
      if (typeof p.msg !== 'string' || typeof p.sender !== 'string') throw new HelperFailure('BAD_REQUEST', 'sender and msg are required');
      await call('POST', '/com/send-im', { sender: p.sender, receivers: strList(p.receivers, 'receivers'), msg: p.msg, session_key: p.session_key });
      return {};
    }
    case HelperMethod.CaptureStart: {
      if (typeof p.app_guid !== 'string' || typeof p.app_name !== 'string') throw new HelperFailure('BAD_REQUEST', 'app_guid and app_name are required');
      const r = await call<{ cursor: number }>('POST', '/capture/register', { app_guid: p.app_guid, app_name: p.app_name, action: p.action === 'distill' ? 'distill' : 'copy' });
      if (!capturing) cursor = r.cursor;
      capturing = true;
      return { capturing: true };
    }
    case HelperMethod.CaptureStop:
      await call('DELETE', '/capture/register');
      capturing = false;
      return { capturing: false };
    case HelperMethod.CaptureWait: {
      if (!capturing) throw new HelperFailure('NOT_CAPTURING', 'call capture.start first');
      const timeout = Math.min(MAX_CAPTURE_WAIT_MS, Math.max(0, Number(p.timeout_ms ?? 1000) || 0));
      const max = Math.min(1000, Math.max(1, Number(p.max_events ?? 200) || 200));
      const r = await call<{ events: Array<MessageEventData & { seq: number }>; cursor: number; registered: boolean }>('GET', `/capture/events?after=${cursor}&wait_ms=${timeout}&limit=${max}`);
      for (const e of r.events) {
        const { seq: _seq, ...data } = e;
        write({ type: HelperLineType.Event, event: 'message', data });
      }
      cursor = r.cursor;
      if (!r.registered) {
        capturing = false;
        write({ type: HelperLineType.Event, event: 'capture_state', data: { capturing: false, reason: 'filter app unregistered by the server' } });
      }
      return { events: r.events.length, capturing };
    }
    case HelperMethod.Shutdown:
      return {};
    default:
      throw new HelperFailure('UNKNOWN_METHOD', `unknown method: ${method}`);
  }
}

async function main(): Promise<void> {
  if (!controlUrl) {
    write({ type: HelperLineType.Fatal, error: { code: 'BAD_REQUEST', message: 'no --control URL given' } });
    process.exit(2);
  }
  try {
    await call('GET', '/state');
  } catch (err) {
    write({ type: HelperLineType.Fatal, error: err instanceof HelperFailure ? err.toJSON() : { code: 'INTERNAL', message: String(err) } });
    process.exit(3);
  }
  write({
    type: HelperLineType.Ready,
    protocol: HELPER_PROTOCOL_VERSION,
    helper: 'huitong-rtx-sim-helper',
    helper_version: '1.0.0',
    capabilities: ['org', 'org.ids', 'org.groups', 'presence', 'send', 'capture'],
    rtx: { host: new URL(controlUrl).hostname, version: 'simulator' },
  });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let queue: Promise<void> = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      if (line.trim() === '') return;
      let id: number | null = null;
      try {
        if (Buffer.byteLength(line) > MAX_HELPER_LINE_BYTES) throw new HelperFailure('BAD_REQUEST', 'line too long');
        let req: { type?: unknown; id?: unknown; method?: unknown; params?: unknown };
        try {
          req = JSON.parse(line) as typeof req;
        } catch {
          throw new HelperFailure('BAD_REQUEST', 'not a JSON line');
        }
        if (typeof req.id === 'number' && Number.isInteger(req.id)) id = req.id;
        if (req.type !== HelperLineType.Request || id === null || typeof req.method !== 'string') throw new HelperFailure('BAD_REQUEST', 'expected {"type":"request","id":<int>,"method":...}');
        const params = req.params && typeof req.params === 'object' ? (req.params as Record<string, unknown>) : {};
        const result = await handle(req.method, params);
        write({ type: HelperLineType.Response, id, ok: true, result });
        if (req.method === HelperMethod.Shutdown) process.exit(0);
      } catch (err) {
        const error = err instanceof HelperFailure ? err.toJSON() : { code: 'INTERNAL' as const, message: 'helper failure' };
        write({ type: HelperLineType.Response, id, ok: false, error });
      }
    });
  });
  rl.on('close', () => {
    void queue.then(() => process.exit(0));
  });
}

void main();
