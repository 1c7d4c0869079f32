import { randomBytes } from 'node:crypto';
import type { Gateway } from '../../gateway/src/gateway.js';
import { ORG_PAGE_MAX_ITEMS, type RtxDept, type RtxGroup, type RtxUser } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import type { OrgSnapshot, RunView } from '../../gateway/src/rtx/types.js';
import { PluginChannel } from '../../rtx-adapter/src/channel.js';
import { AdapterStore } from '../../rtx-adapter/src/outbox.js';
import type { SimOrg } from '../../rtx-adapter/sim/model.js';

/** Helpers for the RTX micro-benchmarks that drive an in-process gateway with scripted payloads. */

export async function waitUntil(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
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

const pagesOf = <T>(items: T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ORG_PAGE_MAX_ITEMS) out.push(items.slice(i, i + ORG_PAGE_MAX_ITEMS));
  return out;
};

/** A scripted RTX adapter: a real PluginChannel (TLS) connected to the gateway; the payloads are the caller's. */
export class ScriptedAdapter {
  private constructor(readonly channel: PluginChannel, private readonly store: AdapterStore) {}

  static async connect(gw: Gateway, ca: string, dataDir: string): Promise<ScriptedAdapter> {
    const store = AdapterStore.open(dataDir);
    const port = gw.ports().plugin;
    if (!port) throw new Error('plugin listener is not up');
    const channel = new PluginChannel({ host: '127.0.0.1', port, code: gw.services.rtxCode.current().code, store, name: 'bench-rtx', software: 'bench', tls: { ca }, reconnect: { minDelayMs: 10, maxDelayMs: 100 } });
    await channel.start();
    await waitUntil(() => channel.status().state === 'CONNECTED', 'the scripted adapter to connect', 20_000);
    return new ScriptedAdapter(channel, store);
  }

  send(type: string, body: unknown): Promise<number> {
    return this.channel.send(type, body);
  }

  /** Sends a whole snapshot: begin, pages, end. */
  async sendSnapshot(snap: OrgSnapshot): Promise<void> {
    const snapshotId = `snap-${randomBytes(6).toString('hex')}`;
    const pages = { depts: pagesOf(snap.depts), users: pagesOf(snap.users), groups: pagesOf(snap.groups) };
    await this.send('rtx.org.begin', { snapshotId, source: 'com', counts: { depts: snap.depts.length, users: snap.users.length, groups: snap.groups.length }, reason: 'bench' });
    for (const kind of ['depts', 'users', 'groups'] as const) pages[kind].forEach((items, page) => void this.send(`rtx.org.${kind}`, { snapshotId, page, items }));
    await this.send('rtx.org.end', { snapshotId, pages: { depts: pages.depts.length, users: pages.users.length, groups: pages.groups.length } });
  }

  async close(): Promise<void> {
    await this.channel.stop();
    this.store.close();
  }
}

/** Waits for a sync run newer than `afterId` to finish (applied, failed or discarded). */
export async function nextFinishedRun(gw: Gateway, afterId: number, ms = 120_000): Promise<RunView> {
  let run: RunView | undefined;
  await waitUntil(() => (run = gw.services.rtxSync.runs(5).find((r) => r.id > afterId && r.state !== 'staging' && r.finishedAt !== null)) !== undefined, `a sync run after ${afterId}`, ms);
  return run as RunView;
}
