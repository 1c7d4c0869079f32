import { readFileSync } from 'node:fs';
import { passwordProblem } from '../auth/password.js';
import { hashPassword } from '../auth/password.js';
import { userView, deptView } from '../directory/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import type { Settings } from '../settings/settings.js';
import { seedDemo } from './demo.js';
import { LICENCE_CONTROL_COMMANDS } from '../licence/control.js';
import { SYNC_CONTROL_COMMANDS } from '../sync/control.js';
import { APP_CONTROL_COMMANDS } from '../apps/control.js';

type Args = Record<string, unknown>;
export type ControlCommand = (s: Services, args: Args) => Promise<unknown>;

function str(args: Args, key: string, required = true): string {
  const v = args[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new GatewayError('GW_BAD_REQUEST', `${key} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new GatewayError('GW_BAD_REQUEST', `${key} must be a string`);
  return v;
}

async function userByAccount(s: Services, args: Args) {
  return s.directory.mustUserByAccount(str(args, 'account'));
}

async function newPasswordHash(password: string): Promise<string> {
  const problem = passwordProblem(password);
  if (problem) throw new GatewayError('GW_BAD_REQUEST', problem);
  return hashPassword(password);
}

/**
 * Administrative commands the `huitong` CLI sends through the admin socket
 * (or runs in-process when no server is running). Each calls the same domain
 * services the console and the APIs use.
 */
export const CONTROL_COMMANDS: Record<string, ControlCommand> = {
  'dept.add': async (s, a) => deptView(await s.directory.deptByPath(str(a, 'path'), true)),

  'dept.list': async (s) => (await s.directory.listDepts()).map(deptView),

  'user.add': async (s, a) => {
    const deptPaths = str(a, 'dept', false);
    const depts: DeptId[] = [];
    for (const p of deptPaths ? deptPaths.split(',') : []) depts.push((await s.directory.deptByPath(p, false)).id);
    const password = str(a, 'password', false);
    const passwordHash = password ? await newPasswordHash(password) : undefined;
    const authorised = a.authorised !== false;
    const account = str(a, 'account');
    // a taken account is the first thing to say, before any seat count
    if (authorised && (await s.directory.getUserByAccount(account))) throw new GatewayError('GW_CONFLICT', `account ${account} is already taken`);
    const create = () =>
      s.directory.createUser({
        account, name: str(a, 'name'), deptIds: depts, mobile: str(a, 'mobile', false), email: str(a, 'email', false),
        title: str(a, 'title', false), authorised, ...(passwordHash ? { passwordHash } : {}),
      });
    // an authorised user takes a licence seat: checked at the moment of authorising
    return userView(authorised ? await s.licence.withSeats(1, create) : await create());
  },

  'user.passwd': async (s, a) => {
    const u = await userByAccount(s, a);
    const password = str(a, 'password');
    const problem = passwordProblem(password);
    if (problem) throw new GatewayError('GW_BAD_REQUEST', problem);
    // signs the user out on every device
    await s.auth.setPassword(u.id, password);
    return { account: u.account, passwordChanged: true };
  },

  'admin.reset-password': async (s, a) => s.admin.resetPassword(str(a, 'username'), str(a, 'password')),

  'user.show': async (s, a) => {
    const u = await userByAccount(s, a);
    return { ...userView(u), authorised: u.authorised, blocked: u.blocked, devices: await s.auth.listDevices(u.id) };
  },

  'user.list': async (s, a) => {
    const r = await s.directory.searchUsers({ query: str(a, 'query', false), limit: Math.min(Number(a.limit ?? 50) || 50, 1000) });
    return { total: r.total, users: r.users.map((u) => ({ ...userView(u), authorised: u.authorised, blocked: u.blocked })) };
  },

  'user.block': async (s, a) => userView(await s.directory.setBlocked((await userByAccount(s, a)).id, true)),
  'user.unblock': async (s, a) => userView(await s.directory.setBlocked((await userByAccount(s, a)).id, false)),
  'user.authorise': async (s, a) => {
    const u = await userByAccount(s, a);
    const authorise = () => s.directory.setAuthorised(u.id, true);
    // someone already authorised holds a seat: authorising again takes none
    return userView(u.authorised ? await authorise() : await s.licence.withSeats(1, authorise));
  },
  'user.deauthorise': async (s, a) => userView(await s.directory.setAuthorised((await userByAccount(s, a)).id, false)),
  'user.disable': async (s, a) => userView(await s.directory.setStatus((await userByAccount(s, a)).id, 'disabled')),
  'user.enable': async (s, a) => userView(await s.directory.setStatus((await userByAccount(s, a)).id, 'active')),
  'user.delete': async (s, a) => {
    const u = await userByAccount(s, a);
    await s.directory.deleteUser(u.id);
    return { account: u.account, deleted: true };
  },

  'device.list': async (s, a) => s.auth.listDevices((await userByAccount(s, a)).id),

  'device.command': async (s, a) => {
    const u = await userByAccount(s, a);
    const kind = str(a, 'kind');
    if (kind !== 'force_offline' && kind !== 'wipe') throw new GatewayError('GW_BAD_REQUEST', 'kind must be force_offline or wipe');
    const deviceId = Number(a.deviceId);
    if (!Number.isSafeInteger(deviceId)) throw new GatewayError('GW_BAD_REQUEST', 'deviceId must be a device id (see huitong user devices)');
    return s.auth.issueCommand(u.id, deviceId, kind, str(a, 'issuedBy', false) || 'cli');
  },

  'group.create': async (s, a) => {
    const accounts = Array.isArray(a.members) ? (a.members as unknown[]) : String(a.members ?? '').split(',');
    const ids: UserId[] = [];
    for (const acc of accounts.map((x) => String(x).trim()).filter(Boolean)) ids.push((await s.directory.mustUserByAccount(acc)).id);
    const owner = str(a, 'owner', false);
    const ownerId = owner ? (await s.directory.mustUserByAccount(owner)).id : (ids[0] ?? null);
    const g = await s.directory.createGroup(str(a, 'name'), ownerId, ids);
    return s.directory.groupView(g);
  },

  'group.exempt': async (s, a) => {
    const u = await userByAccount(s, a);
    await s.directory.setLimitExempt(u.id, a.exempt !== false);
    return { account: u.account, exempt: a.exempt !== false };
  },

  /** An SSO signature for the user, as the client request sso.sign gives (docs/protocol/rtx-sdk-compat.md). */
  'user.sign': async (s, a) => s.sso.sign(await userByAccount(s, a)),

  'settings.get': async (s) => s.settings.get(),
  'settings.set': async (s, a) => {
    try {
      return await s.settings.set(a as Partial<Settings>);
    } catch (e) {
      throw new GatewayError('GW_BAD_REQUEST', (e as Error).message);
    }
  },

  /** The RTX integration's connection code: shown, or replaced (a running server disconnects the adapter). */
  'rtx.code': async (s) => s.rtxCode.current(),
  'rtx.code.regenerate': async (s) => s.rtxCode.regenerate(),
  /** The RTX org sync (docs/admin-api-rtx.md): ask the connected adapter for a snapshot; list runs; import an export XML file (a path on this host). */
  'rtx.sync': async (s) => {
    await s.rtxSync.requestSync('huitong rtx sync');
    await s.admin.logAction(null, 'rtx.sync.request', { kind: 'rtx', id: null, label: 'RTX org sync' }, null, null, null);
    return { requested: true };
  },
  'rtx.runs': async (s, a) => ({ runs: s.rtxSync.runs(Math.min(Math.max(Number(a.limit ?? 20) || 20, 1), 200)) }),
  'rtx.import-xml': async (s, a) => {
    const file = str(a, 'file');
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new GatewayError('GW_BAD_REQUEST', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const dryRun = a.dryRun === true;
    const r = await s.rtxSync.importXml(bytes, { dryRun, reason: `huitong rtx import-xml${dryRun ? ' --dry-run' : ''}` });
    if (!dryRun) await s.admin.logAction(null, 'rtx.import_xml', { kind: 'rtx-sync', id: r.runId, label: file }, null, { counts: r.plan }, null);
    return r;
  },

  ...SYNC_CONTROL_COMMANDS,

  ...APP_CONTROL_COMMANDS,

  ...Object.fromEntries(Object.entries(LICENCE_CONTROL_COMMANDS).map(([name, cmd]): [string, ControlCommand] => [name, (s, a) => cmd(s.licence, a)])),

  'demo.seed': async (s, a) => seedDemo(s, { users: Number(a.users ?? 200), password: str(a, 'password', false) || 'huitong-demo' }),
};
