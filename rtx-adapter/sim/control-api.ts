import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { encodeRtxExportXml } from './export-xml.js';
import type { GenerateOrgOptions } from './generate.js';
import type { HttpFaults, RtxHttpSdk } from './http-sdk.js';
import { SimError, guid, pairSessionKey, type CapturedMessage, type Presence, type RtxSimState, type SimUser } from './model.js';

/**
 * The simulator's control API (HTTP JSON, loopback only): tests make RTX users send, read what
 * RTX users received, mutate the org, inject faults; the simulated COM helper (helper-main.ts)
 * reads the org and the capture stream through it. Routes: docs/rtx-simulator.md.
 */

export interface HelperFaults {
  /** Delay before each helper-facing answer, ms. */
  delayMs: number;
  /** The COM API is unreachable: helper routes answer 503. */
  down: boolean;
}

export interface ControlDeps {
  state: RtxSimState;
  sdk: RtxHttpSdk;
  helperFaults: HelperFaults;
  imwatch: { configure(o: { enabled?: boolean; dir?: string; delay_ms?: number }): { enabled: boolean; dir: string | null; delay_ms: number } };
  reset(org?: GenerateOrgOptions): void;
  info(): Record<string, unknown>;
}

const MAX_WAIT_MS = 30_000;
const ORG_PAGE_MAX = 5_000;

export function userJson(state: RtxSimState, u: SimUser) {
  return {
    account: u.account,
    name: u.name,
    uin: u.id,
    gender: u.gender,
    mobile: u.mobile,
    email: u.email,
    phone: u.phone,
    position: u.position,
    account_state: u.accountState,
    dept_ids: [...u.deptIds],
    dept_paths: u.deptIds.map((d) => state.deptPath(d)),
    presence: state.getPresence(u.account),
  };
}

export function capturedJson(m: CapturedMessage) {
  return { seq: m.seq, im_message_id: m.im_message_id, kind: m.kind, sender: m.sender, receivers: m.receivers, session_key: m.session_key, group: m.group, text: m.text, time_ms: m.time_ms };
}

function clampInt(v: unknown, def: number, min: number, max: number): number {
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.trunc(n))) : def;
}

export function buildControlApi(deps: ControlDeps): FastifyInstance {
  const { state } = deps;
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });

  app.setErrorHandler((err: unknown, _req, reply: FastifyReply) => {
    if (err instanceof SimError) {
      const status = err.code === 'CONFLICT' ? 409 : err.code === 'BAD_REQUEST' ? 400 : 404;
      return reply.code(status).send({ error: err.code, message: err.message });
    }
    const e = err as { statusCode?: number; message?: string };
    return reply.code(e.statusCode && e.statusCode < 500 ? e.statusCode : 500).send({ error: 'BAD_REQUEST', message: e.message ?? 'error' });
  });

  // Requests from the simulated helper carry this header and suffer the helper faults.
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers['x-rtx-helper'] === undefined) return;
    const f = deps.helperFaults;
    if (f.delayMs > 0) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f.down) return reply.code(503).send({ error: 'RTX_UNAVAILABLE', message: 'RTX COM API unreachable (simulated)' });
  });

  app.get('/state', async () => deps.info());

  app.post<{ Body: { org?: GenerateOrgOptions } | null }>('/reset', async (req) => {
    deps.reset(req.body?.org);
    return deps.info();
  });

  // ---- org reads -------------------------------------------------------------------------
  app.get('/org/summary', async () => ({ departments: state.depts.size, users: state.userList().length, groups: state.groups.size, user_version: state.userVersion, dept_version: state.deptVersion }));

  app.get<{ Querystring: { offset?: string; limit?: string } }>('/org/departments', async (req) => {
    const all = [...state.depts.values()];
    const offset = clampInt(req.query.offset, 0, 0, all.length);
    const limit = clampInt(req.query.limit, 500, 1, ORG_PAGE_MAX);
    const items = all.slice(offset, offset + limit).map((d) => ({
      id: d.id,
      parent_id: d.parentId,
      name: d.name,
      sort_id: d.sortId,
      path: state.deptPath(d.id),
      parent_path: d.parentId === 0 ? null : state.deptPath(d.parentId),
    }));
    return { total: all.length, offset, items, next_offset: offset + limit < all.length ? offset + limit : null };
  });

  app.get<{ Querystring: { offset?: string; limit?: string } }>('/org/users', async (req) => {
    const all = state.userList();
    const offset = clampInt(req.query.offset, 0, 0, all.length);
    const limit = clampInt(req.query.limit, 500, 1, ORG_PAGE_MAX);
    return { total: all.length, offset, items: all.slice(offset, offset + limit).map((u) => userJson(state, u)), next_offset: offset + limit < all.length ? offset + limit : null };
  });

  app.get<{ Params: { account: string } }>('/org/users/:account', async (req) => userJson(state, state.requireUser(req.params.account)));

  app.get<{ Querystring: { offset?: string; limit?: string } }>('/org/groups', async (req) => {
    const all = [...state.groups.values()];
    const offset = clampInt(req.query.offset, 0, 0, all.length);
    const limit = clampInt(req.query.limit, 500, 1, ORG_PAGE_MAX);
    return { total: all.length, offset, items: all.slice(offset, offset + limit).map((g) => ({ id: g.id, name: g.name, session_key: g.sessionKey, members: [...g.members] })), next_offset: offset + limit < all.length ? offset + limit : null };
  });

  app.get('/export.xml', async (_req, reply) => reply.type('text/xml; charset=gb2312').send(encodeRtxExportXml(state.snapshot())));

  // ---- org mutations ---------------------------------------------------------------------
  type UserBody = { account: string; name: string; uin?: number; gender?: 0 | 1; mobile?: string; email?: string; phone?: string; position?: string; account_state?: 0 | 1; password?: string; dept_ids?: number[] };
  const userPatch = (b: Partial<UserBody>): Partial<SimUser> => {
    const p: Partial<SimUser> = {};
    if (b.name !== undefined) p.name = b.name;
    if (b.gender !== undefined) p.gender = b.gender;
    if (b.mobile !== undefined) p.mobile = b.mobile;
    if (b.email !== undefined) p.email = b.email;
    if (b.phone !== undefined) p.phone = b.phone;
    if (b.position !== undefined) p.position = b.position;
    if (b.account_state !== undefined) p.accountState = b.account_state;
    if (b.password !== undefined) p.password = b.password;
    if (b.dept_ids !== undefined) p.deptIds = b.dept_ids;
    return p;
  };
  app.post<{ Body: UserBody }>('/org/users', async (req, reply) => {
    const b = req.body;
    if (!b?.account || !b.name) throw new SimError('BAD_REQUEST', 'account and name are required');
    const u = state.addUser({ ...userPatch(b), account: b.account, name: b.name, ...(b.uin !== undefined ? { id: b.uin } : {}) });
    return reply.code(201).send(userJson(state, u));
  });
  app.patch<{ Params: { account: string }; Body: Partial<UserBody> }>('/org/users/:account', async (req) => userJson(state, state.updateUser(req.params.account, userPatch(req.body ?? {}))));
  app.delete<{ Params: { account: string } }>('/org/users/:account', async (req, reply) => {
    state.removeUser(req.params.account);
    return reply.code(204).send();
  });
  app.post<{ Params: { account: string } }>('/org/users/:account/sign', async (req) => ({ sign: deps.sdk.signFor(state.requireUser(req.params.account).account) }));

  app.post<{ Body: { name: string; parent_id?: number; sort_id?: number; id?: number } }>('/org/departments', async (req, reply) => {
    const b = req.body;
    if (!b?.name) throw new SimError('BAD_REQUEST', 'name is required');
    return reply.code(201).send(state.addDept({ name: b.name, parentId: b.parent_id ?? 0, sortId: b.sort_id ?? 0, ...(b.id !== undefined ? { id: b.id } : {}) }));
  });
  app.patch<{ Params: { id: string }; Body: { name?: string; parent_id?: number; sort_id?: number } }>('/org/departments/:id', async (req) => {
    const b = req.body ?? {};
    return state.updateDept(Number(req.params.id), { ...(b.name !== undefined ? { name: b.name } : {}), ...(b.parent_id !== undefined ? { parentId: b.parent_id } : {}), ...(b.sort_id !== undefined ? { sortId: b.sort_id } : {}) });
  });
  app.delete<{ Params: { id: string } }>('/org/departments/:id', async (req, reply) => {
    state.removeDept(Number(req.params.id));
    return reply.code(204).send();
  });

  app.post<{ Body: { name: string; members: string[]; id?: string } }>('/org/groups', async (req, reply) => {
    const b = req.body;
    if (!b?.name || !Array.isArray(b.members)) throw new SimError('BAD_REQUEST', 'name and members are required');
    const g = state.addGroup({ name: b.name, members: b.members, ...(b.id ? { id: b.id } : {}) });
    return reply.code(201).send({ id: g.id, name: g.name, session_key: g.sessionKey, members: g.members });
  });
  app.patch<{ Params: { id: string }; Body: { name?: string; members?: string[] } }>('/org/groups/:id', async (req) => {
    const g = state.updateGroup(req.params.id, req.body ?? {});
    return { id: g.id, name: g.name, session_key: g.sessionKey, members: g.members };
  });
  app.delete<{ Params: { id: string } }>('/org/groups/:id', async (req, reply) => {
    state.removeGroup(req.params.id);
    return reply.code(204).send();
  });

  // ---- presence --------------------------------------------------------------------------
  app.put<{ Params: { account: string }; Body: { state: Presence } }>('/presence/:account', async (req) => {
    const s = req.body?.state;
    if (s !== 0 && s !== 1 && s !== 2) throw new SimError('BAD_REQUEST', 'state must be 0, 1 or 2');
    state.setPresence(req.params.account, s);
    return { account: state.requireUser(req.params.account).account, state: s };
  });
  app.get<{ Querystring: { accounts?: string } }>('/presence', async (req) => {
    const accounts = (req.query.accounts ?? '').split(',').filter((a) => a.length > 0);
    if (accounts.length === 0) return { online: state.userList().filter((u) => state.getPresence(u.account) !== 0).map((u) => u.account) };
    return { states: Object.fromEntries(accounts.map((a) => [a, state.user(a) ? state.getPresence(a) : null])) };
  });

  // ---- RTX users send; what they received ------------------------------------------------
  app.post<{ Body: { sender: string; to?: string; group_id?: string; text: string; session_key?: string; time_ms?: number; copies?: number; im_message_id?: string } }>('/rtx/send', async (req) => {
    const b = req.body;
    if (!b?.sender || typeof b.text !== 'string') throw new SimError('BAD_REQUEST', 'sender and text are required');
    const m = state.rtxUserSends({
      sender: b.sender,
      text: b.text,
      ...(b.to !== undefined ? { to: b.to } : {}),
      ...(b.group_id !== undefined ? { groupId: b.group_id } : {}),
      ...(b.session_key !== undefined ? { sessionKey: b.session_key } : {}),
      ...(b.time_ms !== undefined ? { timeMs: b.time_ms } : {}),
      ...(b.copies !== undefined ? { copies: b.copies } : {}),
      ...(b.im_message_id !== undefined ? { imMessageId: b.im_message_id } : {}),
    });
    return capturedJson(m);
  });

  app.get<{ Params: { account: string }; Querystring: { min_ims?: string; min_notifications?: string; min_sms?: string; wait_ms?: string } }>('/received/:account', async (req) => {
    const u = state.requireUser(req.params.account);
    const box = state.inbox(u.account);
    const q = req.query;
    const want = { ims: clampInt(q.min_ims, 0, 0, 1e9), notifications: clampInt(q.min_notifications, 0, 0, 1e9), sms: clampInt(q.min_sms, 0, 0, 1e9) };
    await state.waitFor(() => (box.ims.length >= want.ims && box.notifications.length >= want.notifications && box.sms.length >= want.sms ? true : undefined), clampInt(q.wait_ms, 0, 0, MAX_WAIT_MS));
    return { account: u.account, ims: box.ims, notifications: box.notifications, sms: box.sms };
  });

  // ---- sending through the COM API (what the helper's send.* use) -------------------------
  const resolveAll = (accounts: string[]): SimUser[] => {
    const unknown = accounts.filter((a) => !state.user(a));
    if (unknown.length > 0) throw new SimError('NO_SUCH_USER', `no such user: ${unknown.join(',')}`);
    return [...new Map(accounts.map((a) => state.requireUser(a)).map((u) => [u.account, u])).values()];
  };
  app.post<{ Body: { receivers: string[] | 'all'; title?: string; msg: string; delay_ms?: number } }>('/com/send-notify', async (req) => {
    const b = req.body;
    if (!b || typeof b.msg !== 'string' || (b.receivers !== 'all' && !Array.isArray(b.receivers))) throw new SimError('BAD_REQUEST', 'receivers and msg are required');
    const broadcast = b.receivers === 'all';
    const targets = broadcast ? state.userList() : resolveAll(b.receivers as string[]);
    const now = Date.now();
    for (const u of targets) state.deliverNotification(u.account, { title: b.title || '通知', text: b.msg, delay_ms: b.delay_ms ?? 0, broadcast, time_ms: now, via: 'helper' });
    return { delivered: targets.length };
  });
  app.post<{ Body: { sender: string; receivers: string[]; msg: string; session_key?: string } }>('/com/send-im', async (req) => {
    const b = req.body;
    if (!b?.sender || typeof b.msg !== 'string' || !Array.isArray(b.receivers)) throw new SimError('BAD_REQUEST', 'sender, receivers and msg are required');
    const sender = state.requireUser(b.sender);
    const group = b.session_key ? state.groupBySessionKey(b.session_key) : undefined;
    const targets = group ? resolveAll(group.members).filter((u) => u.account !== sender.account) : resolveAll(b.receivers);
    const now = Date.now();
    const id = guid();
    for (const u of targets) {
      state.deliverIm(u.account, { im_message_id: id, sender: sender.account, text: b.msg, session_key: group?.sessionKey ?? (b.session_key || pairSessionKey(sender.account, u.account)), group_id: group?.id ?? null, time_ms: now, via: 'helper' });
    }
    return { delivered: targets.length };
  });

  // ---- the filter app (capture stream) ---------------------------------------------------
  app.post<{ Body: { app_guid: string; app_name: string; action?: 'copy' | 'distill' } }>('/capture/register', async (req) => {
    const b = req.body;
    if (!b?.app_guid || !b.app_name) throw new SimError('BAD_REQUEST', 'app_guid and app_name are required');
    state.filterApp = { app_guid: b.app_guid, app_name: b.app_name, action: b.action === 'distill' ? 'distill' : 'copy' };
    return { registered: true, cursor: state.captureSeq };
  });
  app.delete('/capture/register', async () => {
    state.filterApp = null;
    return { registered: false };
  });
  app.get<{ Querystring: { after?: string; wait_ms?: string; limit?: string } }>('/capture/events', async (req) => {
    const after = clampInt(req.query.after, 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = clampInt(req.query.limit, 500, 1, 5_000);
    const ac = new AbortController();
    req.raw.once('close', () => ac.abort());
    const events = (await state.waitFor(() => {
      const e = state.capturedAfter(after, limit);
      return e.length > 0 ? e : undefined;
    }, clampInt(req.query.wait_ms, 0, 0, MAX_WAIT_MS), ac.signal)) ?? [];
    return { events: events.map(capturedJson), cursor: events.length > 0 ? (events[events.length - 1] as CapturedMessage).seq : Math.max(after, 0), registered: state.filterApp !== null };
  });

  // ---- faults, IMWatch, allow-list -------------------------------------------------------
  app.put<{ Body: { http?: Partial<HttpFaults>; helper?: Partial<HelperFaults> } }>('/faults', async (req) => {
    Object.assign(deps.sdk.faults, req.body?.http ?? {});
    Object.assign(deps.helperFaults, req.body?.helper ?? {});
    return { http: deps.sdk.faults, helper: deps.helperFaults };
  });
  app.put<{ Body: { allow_ips: string[] } }>('/allow-ips', async (req) => {
    if (!Array.isArray(req.body?.allow_ips)) throw new SimError('BAD_REQUEST', 'allow_ips must be a list');
    deps.sdk.allowIps = new Set(req.body.allow_ips);
    return { allow_ips: [...deps.sdk.allowIps] };
  });
  app.put<{ Body: { enabled?: boolean; dir?: string; delay_ms?: number } }>('/imwatch', async (req) => deps.imwatch.configure(req.body ?? {}));

  return app;
}
