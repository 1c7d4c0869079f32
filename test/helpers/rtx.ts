import { randomBytes } from 'node:crypto';
import { PluginChannel } from '../../rtx-adapter/src/channel.js';
import { AdapterStore } from '../../rtx-adapter/src/outbox.js';
import type { SimOrg } from '../../rtx-adapter/sim/model.js';
import { ORG_PAGE_MAX_ITEMS, type RtxDept, type RtxGroup, type RtxUser } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import type { OrgSnapshot, RunView } from '../../gateway/src/rtx/types.js';
import { tempDir, type TestGateway } from './gateway.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Waits until cond() holds, re-checking every 20 ms, or fails naming `what`. */
export async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The simulator's org as the adapter sends it (docs/protocol/rtx-bridge-v1.md). */
export function simToSnapshot(org: SimOrg): OrgSnapshot {
  const depts: RtxDept[] = org.depts.map((d) => ({ id: String(d.id), parentId: d.parentId === 0 ? null : String(d.parentId), name: d.name, order: d.sortId }));
  const users: RtxUser[] = org.users.map((u) => ({
    account: u.account, name: u.name, uin: u.id, gender: u.gender === 0 ? 'male' : 'female', mobile: u.mobile, email: u.email, phone: u.phone,
    title: u.position, disabled: u.accountState === 1, deptIds: u.deptIds.map(String),
  }));
  const groups: RtxGroup[] = org.groups.map((g) => ({ id: g.id, name: g.name, members: [...g.members] }));
  return { depts, users, groups };
}

export function pagesOf<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ORG_PAGE_MAX_ITEMS) out.push(items.slice(i, i + ORG_PAGE_MAX_ITEMS));
  return out;
}

/** A scripted RTX adapter: a real PluginChannel connected to the test gateway; payloads are ours. */
export class ScriptedAdapter {
  readonly received: { type: string; body: Record<string, unknown> }[] = [];
  constructor(readonly channel: PluginChannel, readonly store: AdapterStore) {}

  static async connect(t: Teardown, g: TestGateway, opts: { dataDir?: string } = {}): Promise<ScriptedAdapter> {
    const store = AdapterStore.open(opts.dataDir ?? tempDir(t));
    const port = g.gw.ports().plugin;
    if (!port) throw new Error('plugin listener is not up');
    const channel = new PluginChannel({
      host: '127.0.0.1', port, code: g.gw.services.rtxCode.current().code, store, name: 'scripted-rtx', software: 'test',
      tls: { ca: g.ca }, reconnect: { minDelayMs: 10, maxDelayMs: 100 },
    });
    const a = new ScriptedAdapter(channel, store);
    for (const type of ['gw.im.send', 'gw.notify.send', 'gw.sync.request']) channel.on(type, (body) => void a.received.push({ type, body: body as Record<string, unknown> }));
    t.teardown(async () => {
      await channel.stop();
      store.close();
    });
    await channel.start();
    await waitFor(() => channel.status().state === 'CONNECTED', 'the scripted adapter to connect', 20_000);
    return a;
  }

  send(type: string, body: unknown): Promise<number> {
    return this.channel.send(type, body);
  }

  /** Sends a whole snapshot (begin, pages, end); `skip` leaves out one page to make it incomplete. */
  async sendSnapshot(snap: OrgSnapshot, opts: { skip?: { kind: 'depts' | 'users' | 'groups'; page: number }; snapshotId?: string } = {}): Promise<string> {
    const snapshotId = opts.snapshotId ?? `snap-${randomBytes(6).toString('hex')}`;
    const pages = { depts: pagesOf(snap.depts), users: pagesOf(snap.users), groups: pagesOf(snap.groups) };
    await this.send('rtx.org.begin', { snapshotId, source: 'com', counts: { depts: snap.depts.length, users: snap.users.length, groups: snap.groups.length }, reason: 'test' });
    for (const kind of ['depts', 'users', 'groups'] as const) {
      for (let i = 0; i < pages[kind].length; i++) {
        if (opts.skip?.kind === kind && opts.skip.page === i) continue;
        void this.send(`rtx.org.${kind}`, { snapshotId, page: i, items: pages[kind][i] });
      }
    }
    await this.send('rtx.org.end', { snapshotId, pages: { depts: pages.depts.length, users: pages.users.length, groups: pages.groups.length } });
    return snapshotId;
  }

  /** Waits for the next payload of `type` matching `match` (counting from `from`). */
  async next(type: string, match: (b: Record<string, unknown>) => boolean = () => true, from = 0, ms = 20_000): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(() => (found = this.received.slice(from).find((p) => p.type === type && match(p.body))?.body) !== undefined, `a ${type} at the adapter`, ms);
    return found as Record<string, unknown>;
  }
}

/** Waits for a run newer than `afterId` to finish (applied, failed or discarded) and returns it. */
export async function nextFinishedRun(g: TestGateway, afterId: number, ms = 120_000): Promise<RunView> {
  let run: RunView | undefined;
  await waitFor(() => {
    run = g.gw.services.rtxSync.runs(5).find((r) => r.id > afterId && r.state !== 'staging' && r.finishedAt !== null);
    return run !== undefined;
  }, `a sync run after ${afterId}`, ms);
  return run as RunView;
}

export function lastRunId(g: TestGateway): number {
  return g.gw.services.rtxSync.runs(1)[0]?.id ?? 0;
}

/** A console session: sets up the first administrator, logs in, returns cookie and CSRF token helpers. */
export async function consoleSession(g: TestGateway): Promise<{ get(path: string): Promise<Response>; send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response> }> {
  const json = { 'content-type': 'application/json' };
  const r = await fetch(`${g.http}/api/admin/setup/admin`, { method: 'POST', headers: { ...json, origin: g.http }, body: JSON.stringify({ username: 'root', password: 'root-password-1' }) });
  if (r.status !== 201) throw new Error(`setup failed: ${r.status} ${await r.text()}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const me = (await (await fetch(`${g.http}/api/admin/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  return {
    get: (path) => fetch(`${g.http}${path}`, { headers: { cookie } }),
    send: (method, path, body, headers = {}) =>
      fetch(`${g.http}${path}`, {
        method,
        headers: { cookie, origin: g.http, 'x-csrf-token': me.csrfToken, ...(body === undefined || Buffer.isBuffer(body) ? {} : json), ...headers },
        ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      }),
  };
}
