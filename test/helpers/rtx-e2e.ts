import path from 'node:path';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import type { OrgSnapshot } from '../../gateway/src/rtx/types.js';
import { startAdapter, type AdapterHandle, type AdapterOptions } from '../../rtx-adapter/src/adapter.js';
import type { SimOrg } from '../../rtx-adapter/sim/model.js';
import type { RtxSimulator } from '../../rtx-adapter/sim/simulator.js';
import { TEST_PASSWORD, type TestGateway } from './gateway.js';
import { simToSnapshot, waitFor } from './rtx.js';

/**
 * The whole RTX bridge in one process: the simulator (with its COM helper as a child
 * process), the real adapter (startAdapter), the plugin channel, a real gateway and
 * HuitongClients. Used by test/integration/rtx-e2e.test.ts and rtx-chaos.test.ts.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const REPO = path.resolve(import.meta.dirname, '../..');

/** A call to the simulator's control API; throws on an error answer. */
export async function control<T = unknown>(sim: RtxSimulator, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.controlUrl}${url}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  if (res.status === 204) return undefined as T;
  const data = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/** The simulated COM helper (helper-main.ts) as the adapter spawns it. */
export function simHelper(sim: RtxSimulator) {
  return {
    command: [process.execPath, '--import', 'tsx', path.join(REPO, 'rtx-adapter/sim/helper-main.ts'), '--control', sim.controlUrl],
    cwd: REPO,
    captureWaitMs: 500,
    restart: { minDelayMs: 100, maxDelayMs: 1000 },
  };
}

/**
 * Starts the real adapter against the simulator and the gateway (TLS with the gateway's
 * certificate), stopped at teardown. `port` overrides the gateway's plugin port (a proxy).
 */
export async function startRealAdapter(
  t: Teardown,
  g: TestGateway,
  sim: RtxSimulator,
  dataDir: string,
  o: Partial<AdapterOptions> & { port?: number; wait?: boolean } = {},
): Promise<AdapterHandle> {
  const { port, wait, ...extra } = o;
  const a = await startAdapter({
    gateway: {
      host: '127.0.0.1',
      port: port ?? (g.gw.ports().plugin as number),
      tls: { ca: g.ca },
      code: g.gw.services.rtxCode.current().code,
      name: 'e2e-rtx',
      reconnect: { minDelayMs: 10, maxDelayMs: 200 },
    },
    dataDir,
    presence: 'off',
    ...extra,
    rtx: { sdkUrl: sim.sdkUrl, sdkTimeoutMs: 1_000, helper: simHelper(sim), ...(extra.rtx ?? {}) },
    bridge: { syncIntervalMs: 0, retryMinDelayMs: 50, retryMaxDelayMs: 300, statusCheckMs: 50, probeAfterMs: 200, ...(extra.bridge ?? {}) },
  });
  t.teardown(() => a.stop());
  if (wait !== false) await waitFor(() => a.channel.status().state === 'CONNECTED', 'the adapter to connect', 30_000);
  return a;
}

/** Every RTX-origin entry of the gateway directory, in the snapshot's terms (no uin: the directory does not keep it). */
export async function directoryAsSnapshot(g: TestGateway): Promise<OrgSnapshot> {
  const dir = g.gw.services.directory;
  const depts = (await dir.listDepts()).filter((d) => d.origin === 'rtx');
  const extOf = new Map<number, string>(depts.map((d) => [d.id, d.externalId as string]));
  const users: OrgSnapshot['users'] = [];
  for (let after = 0; ; ) {
    const page = await dir.searchUsers({ limit: 1000, offset: after });
    for (const u of page.users) {
      if (u.origin !== 'rtx') continue;
      const main = u.depts.find((d) => d.main)?.deptId;
      const others = u.depts.filter((d) => !d.main).map((d) => extOf.get(d.deptId) as string);
      users.push({
        account: u.externalId as string, name: u.name, gender: u.gender, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title,
        disabled: u.status === 'disabled', deptIds: [...(main !== undefined ? [extOf.get(main) as string] : []), ...others],
      });
    }
    after += page.users.length;
    if (page.users.length < 1000) break;
  }
  const groups: OrgSnapshot['groups'] = [];
  for (const id of await dir.groupIdsMatching('')) {
    const g2 = await dir.getGroup(id);
    if (!g2 || g2.origin !== 'rtx') continue;
    groups.push({ id: g2.externalId as string, name: g2.name, members: (await dir.getUsers(g2.memberIds)).map((u) => u.account) });
  }
  return {
    depts: depts.map((d) => ({ id: d.externalId as string, parentId: d.parentId === null ? null : (extOf.get(d.parentId) as string), name: d.name, order: d.order })),
    users,
    groups,
  };
}

/** A snapshot in a canonical form (sorted; a user's main department first, the others sorted; no uin), for exact comparison. */
export function normalised(s: OrgSnapshot): OrgSnapshot {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    depts: s.depts.map((d) => ({ id: d.id, parentId: d.parentId, name: d.name, order: d.order })).sort(byId),
    users: s.users
      .map((u) => ({ account: u.account, name: u.name, gender: u.gender, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title, disabled: u.disabled, deptIds: [...u.deptIds.slice(0, 1), ...u.deptIds.slice(1).sort()] }))
      .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0)),
    groups: s.groups.map((x) => ({ id: x.id, name: x.name, members: [...x.members].sort() })).sort(byId),
  };
}

/** What the gateway directory should hold for the simulator's current org. */
export function expectedFromSim(sim: RtxSimulator | SimOrg): OrgSnapshot {
  return normalised(simToSnapshot('state' in sim ? sim.state.snapshot() : sim));
}

/** Lets an RTX-origin user log in on a phone (password, authorised); returns the user id. */
export async function enablePhone(g: TestGateway, account: string): Promise<UserId> {
  const u = await g.gw.services.directory.getUserByAccount(account);
  if (!u) throw new Error(`no user ${account} in the gateway directory`);
  await g.gw.services.auth.setPassword(u.id, TEST_PASSWORD);
  await g.gw.services.directory.setAuthorised(u.id, true);
  return u.id;
}

export const idOf = async (g: TestGateway, account: string): Promise<UserId> => {
  const u = await g.gw.services.directory.getUserByAccount(account);
  if (!u) throw new Error(`no user ${account} in the gateway directory`);
  return u.id;
};
