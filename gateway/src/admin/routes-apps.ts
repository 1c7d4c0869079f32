import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDetailView, AppListView, AppPeopleView, AppRole, AppSecretsView, AppSummaryView, AppWithSecretsView, NamedUser } from '../apps/api-types.js';
import { FILE_TRANSFER_KEY, isPeopleFacing, MAX_LOGO_BYTES, SYSTEM_NOTICE_KEY } from '../apps/profile.js';
import type { AppService } from '../apps/service.js';
import { SYSTEM_APPS, type AppPatch, type AppVisibility, type OpenApp } from '../apps/types.js';
import type { DeptRecord, UserRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import type { LogTarget } from './action-log.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { deptMap, deptPath } from './routes-org.js';
import { checkFields, checkQuery, queryInt } from './routes-groups.js';

export type * from '../apps/api-types.js';

const SMALL_BODY_BYTES = 16 * 1024;
/** Visibility lists up to 10,000 ids (AppService's limit). */
const VISIBILITY_BODY_BYTES = 256 * 1024;
const LOGO_TYPES = ['image/png', 'image/jpeg', 'application/octet-stream'];
export const LOGO_PATH = '/api/app-logos';

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);
const forbidden = (message: string) => new GatewayError('GW_FORBIDDEN', message);

/** A callback Token for a new app: 32 letters and digits. */
function newToken(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(32)].map((b) => abc[b % abc.length]).join('');
}

function mask(key: string | null): string | null {
  return key ? `${key.slice(0, 4)}${'*'.repeat(Math.max(0, key.length - 8))}${key.slice(-4)}` : null;
}

export function appRole(a: OpenApp): AppRole {
  if (a.key === FILE_TRANSFER_KEY && a.appId === null) return 'fileTransfer';
  if (a.key === SYSTEM_NOTICE_KEY && a.kind === 'builtin') return 'notice';
  if (a.kind === 'custom') return 'custom';
  if (a.appId === 'sysMsgAssistant') return 'sysMsg';
  if (a.appId === 'sysExmailAssistant') return 'mail';
  return 'integration';
}

export function logoUrl(name: string | null): string | null {
  return name ? `${LOGO_PATH}/${name}` : null;
}

function summary(a: OpenApp): AppSummaryView {
  const v = a.visibility;
  return {
    id: a.rowId, key: a.key, name: a.name, kind: a.kind, role: appRole(a), buin: a.buin, appId: a.appId, enabled: a.enabled,
    description: a.profile.description, logoUrl: logoUrl(a.profile.logo), homeUrl: a.profile.homeUrl, mobileUrl: a.profile.mobileUrl,
    peopleFacing: isPeopleFacing(a),
    visibility: v.all ? { all: true, depts: 0, users: 0 } : { all: false, depts: v.depts.length, users: v.users.length },
    version: a.version, updatedAt: a.updatedAt,
  };
}

function secrets(a: OpenApp): AppSecretsView {
  if (!a.appId || a.buin === null || !a.encodingAesKey) throw bad('the app has no open-API access');
  return { buin: a.buin, appId: a.appId, encodingAesKey: a.encodingAesKey, token: a.callbackToken };
}

const target = (a: OpenApp): LogTarget => ({ kind: 'app', id: a.rowId, label: a.appId ? `${a.name} (${a.appId})` : a.name });

/** What the action log keeps of an app: no secrets, the key masked. */
function logView(a: OpenApp) {
  return {
    name: a.name, kind: a.kind, buin: a.buin, appId: a.appId, enabled: a.enabled, aesKeyMasked: mask(a.encodingAesKey),
    description: a.profile.description, logo: a.profile.logo, homeUrl: a.profile.homeUrl, mobileUrl: a.profile.mobileUrl,
    managers: a.profile.managers, visibility: a.visibility, version: a.version,
  };
}

function versionField(v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw bad('version is required: the version of the app you are changing');
  return v as number;
}

function ids(what: string, v: unknown, max: number): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > max || !v.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) throw bad(`${what} must be at most ${max} positive integer ids`);
  return [...new Set(v as number[])];
}

/**
 * Apps in the console (docs/admin-api-apps.md; F-4.2–F-4.4): list, read,
 * create (generated keys) and import (given keys), change the profile,
 * visibility and managers, upload a logo, regenerate the key, reveal the
 * secrets, delete custom apps. Right `apps` for every route. Apps belong to
 * the whole organisation; an administrator with a department scope names and
 * changes only the departments and people inside it (the others stay as they
 * are), and only a whole-organisation administrator switches an app between
 * "everyone" and a list. Writes carry the app's `version` (409 when stale)
 * and go to the action log without secrets.
 */
export function registerAppRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const { apps, admin, directory } = deps.services;
  const P = `${ADMIN_PREFIX}/apps`;
  const guard = requireAdmin(Right.Apps);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;

  const mustApp = (raw: unknown): OpenApp => {
    const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    const a = Number.isSafeInteger(id) ? apps.get(id) : null;
    if (!a || a.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${String(raw).slice(0, 20)} does not exist`);
    return a;
  };
  const stale = (a: OpenApp, version: number) => {
    if (a.version !== version) throw new GatewayError('GW_CONFLICT', 'the app was changed by someone else; reload and try again', { details: { version: a.version } });
  };
  const scopeOf = (req: FastifyRequest) => admin.scopeFilter(actionContext(req).admin, Right.Apps);
  const sees = (u: UserRecord, scope: Set<DeptId> | null) => scope === null || u.depts.some((d) => scope.has(d.deptId));

  const named = (u: UserRecord): NamedUser => ({ id: u.id, account: u.account, name: u.name });

  const detail = async (a: OpenApp, scope: Set<DeptId> | null): Promise<AppDetailView> => {
    const byId = await deptMap(deps.services);
    const v = a.visibility;
    const vDepts = v.all ? [] : v.depts.filter((d) => byId.has(d));
    const shownDepts = vDepts.filter((d) => scope === null || scope.has(d));
    const people = new Map((await directory.getUsers([...new Set([...(v.all ? [] : v.users), ...a.profile.managers])])).map((u) => [u.id, u] as const));
    const shown = (list: readonly UserId[]) => list.map((id) => people.get(id)).filter((u): u is UserRecord => !!u && sees(u, scope));
    const vUsers = v.all ? [] : v.users.filter((id) => people.has(id));
    const shownUsers = shown(vUsers);
    const managers = shown(a.profile.managers.filter((id) => people.has(id)));
    return {
      ...summary(a),
      aesKeyMasked: mask(a.encodingAesKey), hasCallbackToken: a.callbackToken !== null, callbackUrl: a.callbackUrl, rights: a.rights,
      visibilityDetail: {
        all: v.all === true,
        depts: shownDepts.map((d) => ({ id: d, name: (byId.get(d) as DeptRecord).name, path: deptPath(byId, d) })),
        users: shownUsers.map(named),
        hiddenDepts: vDepts.length - shownDepts.length,
        hiddenUsers: vUsers.length - shownUsers.length,
      },
      managers: managers.map(named),
      hiddenManagers: a.profile.managers.filter((id) => people.has(id)).length - managers.length,
      createdAt: a.createdAt,
    };
  };

  /** People ids an administrator sets: each must exist and be in view; those of the current list out of view are kept. */
  const mergePeople = async (what: string, given: number[], current: readonly UserId[], scope: Set<DeptId> | null): Promise<UserId[]> => {
    const found = new Map((await directory.getUsers([...new Set([...given, ...current])] as UserId[])).map((u) => [u.id as number, u] as const));
    const missing = given.filter((id) => !found.has(id));
    if (missing.length > 0) throw new GatewayError('GW_NOT_FOUND', `${what}: unknown user id(s) ${missing.slice(0, 10).join(', ')}`);
    if (scope === null) return given as UserId[];
    const outside = given.filter((id) => !sees(found.get(id) as UserRecord, scope));
    if (outside.length > 0) throw forbidden(`${what}: user(s) ${outside.slice(0, 10).join(', ')} are outside the departments you may manage`);
    const kept = current.filter((id) => { const u = found.get(id); return !!u && !sees(u, scope); });
    return [...new Set([...given, ...kept])] as UserId[];
  };

  const log = async (req: FastifyRequest, action: string, a: OpenApp, before: unknown, after: unknown) => {
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, action, target(a), before, after, ctx.address);
  };

  app.get(P, { preHandler: guard }, async (req): Promise<AppListView> => {
    const q = checkQuery(req.query, ['q']);
    const text = (q.q ?? '').trim().toLowerCase();
    if ([...text].length > 64) throw bad('q is longer than 64 characters');
    const list = apps.list().filter((a) => a.origin !== 'deleted')
      .filter((a) => !text || [a.name, a.appId ?? '', a.key, a.profile.description].some((s) => s.toLowerCase().includes(text)));
    // system apps first, then custom apps, newest last
    const rank = (a: OpenApp) => (a.kind === 'custom' ? 1 : 0);
    list.sort((x, y) => rank(x) - rank(y) || x.rowId - y.rowId);
    return { apps: list.map(summary) };
  });

  // the people picker of the visibility and managers fields: members in the administrator's apps scope (the
  // members page needs a members right an apps administrator may not hold)
  app.get(`${P}/people`, { preHandler: guard }, async (req): Promise<AppPeopleView> => {
    const q = checkQuery(req.query, ['q', 'limit']);
    const text = (q.q ?? '').trim();
    if ([...text].length > 64) throw bad('q is longer than 64 characters');
    const limit = queryInt(q, 'limit', 1, 50) ?? 20;
    const scope = await scopeOf(req);
    if (scope !== null && scope.size === 0) return { members: [] };
    const r = await directory.searchUsers({ ...(text ? { query: text } : {}), ...(scope !== null ? { deptIds: [...scope] } : {}), offset: 0, limit });
    const byId = await deptMap(deps.services);
    return { members: r.users.map((u) => ({ ...named(u), dept: u.depts[0] ? (byId.get(u.depts[0].deptId)?.name ?? null) : null })) };
  });

  app.get(`${P}/:id`, { preHandler: guard }, async (req): Promise<AppDetailView> => detail(mustApp(params(req).id), await scopeOf(req)));

  const withSecrets = async (req: FastifyRequest, a: OpenApp): Promise<AppWithSecretsView> => ({ app: await detail(a, await scopeOf(req)), secrets: secrets(a) });

  app.post(P, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['name', 'description', 'homeUrl', 'mobileUrl']);
    const created = await apps.create({
      name: b.name as string, callbackToken: newToken(),
      profile: { description: b.description as string, homeUrl: b.homeUrl as string | null, mobileUrl: b.mobileUrl as string | null },
    });
    await log(req, 'app.create', created, null, logView(created));
    return reply.status(201).send(await withSecrets(req, created));
  });

  app.post(`${P}/import`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['name', 'buin', 'appId', 'encodingAesKey', 'token', 'description']);
    if (!Number.isSafeInteger(b.buin)) throw bad('buin must be an integer (the enterprise number, 企业总机号)');
    if (typeof b.appId !== 'string' || !b.appId) throw bad('appId is required');
    if (typeof b.encodingAesKey !== 'string') throw bad('encodingAesKey is required (44 characters of base64)');
    // a system assistant moved from another installation keeps its rights (the spec's test suites use sysOrgAssistant under two buins)
    const sys = SYSTEM_APPS.find((s) => s.appId === b.appId);
    const created = await apps.create({
      name: b.name as string, buin: b.buin as number, appId: b.appId, encodingAesKey: b.encodingAesKey,
      callbackToken: (b.token as string | null | undefined) ?? null,
      ...(sys ? { kind: 'system' as const, rights: [...sys.rights] } : {}),
      profile: { description: b.description as string },
    }, 'import');
    await log(req, 'app.import', created, null, logView(created));
    return reply.status(201).send(await withSecrets(req, created));
  });

  app.patch(`${P}/:id`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<AppDetailView> => {
    const b = checkFields(req.body, ['version', 'name', 'description', 'logo', 'homeUrl', 'mobileUrl', 'enabled', 'managers']);
    const cur = mustApp(params(req).id);
    const version = versionField(b.version);
    stale(cur, version);
    const scope = await scopeOf(req);
    const patch: AppPatch = {};
    if (b.name !== undefined) patch.name = b.name as string;
    if (b.description !== undefined) patch.description = b.description as string;
    if (b.logo !== undefined) patch.logo = b.logo as string | null;
    if (b.homeUrl !== undefined) patch.homeUrl = b.homeUrl as string | null;
    if (b.mobileUrl !== undefined) patch.mobileUrl = b.mobileUrl as string | null;
    if (b.enabled !== undefined) patch.enabled = b.enabled as boolean;
    if (b.managers !== undefined) patch.managers = await mergePeople('managers', ids('managers', b.managers, 50), cur.profile.managers, scope);
    const next = await apps.update(cur.rowId, patch, version);
    await log(req, 'app.update', next, logView(cur), logView(next));
    return detail(next, scope);
  });

  app.put(`${P}/:id/visibility`, { preHandler: guard, bodyLimit: VISIBILITY_BODY_BYTES }, async (req): Promise<AppDetailView> => {
    const b = checkFields(req.body, ['version', 'all', 'depts', 'users']);
    const cur = mustApp(params(req).id);
    const version = versionField(b.version);
    stale(cur, version);
    if (typeof b.all !== 'boolean') throw bad('all must be true (everyone) or false (the listed departments and people)');
    const scope = await scopeOf(req);
    const was = cur.visibility;
    let next: AppVisibility;
    if (b.all) {
      if (scope !== null && !was.all) throw forbidden('only an administrator over the whole organisation may make an app visible to everyone');
      next = { all: true };
    } else {
      if (scope !== null && was.all) throw forbidden('only an administrator over the whole organisation may narrow an app visible to everyone');
      const depts = ids('depts', b.depts, 10_000);
      const byId = await deptMap(deps.services);
      const unknown = depts.filter((d) => !byId.has(d as DeptId));
      if (unknown.length > 0) throw new GatewayError('GW_NOT_FOUND', `unknown department id(s) ${unknown.slice(0, 10).join(', ')}`);
      const outside = scope === null ? [] : depts.filter((d) => !scope.has(d as DeptId));
      if (outside.length > 0) throw forbidden(`department(s) ${outside.slice(0, 10).map((d) => deptPath(byId, d as DeptId)).join(', ')} are outside the departments you may manage`);
      const keptDepts = scope === null || was.all ? [] : was.depts.filter((d) => byId.has(d) && !scope.has(d));
      const users = await mergePeople('users', ids('users', b.users, 10_000), was.all ? [] : was.users, scope);
      next = { depts: [...new Set([...depts, ...keptDepts])] as DeptId[], users };
    }
    const updated = await apps.update(cur.rowId, { visibility: next }, version);
    await log(req, 'app.visibility', updated, { visibility: was }, { visibility: updated.visibility });
    return detail(updated, scope);
  });

  app.post(`${P}/:id/regenerate-key`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<AppWithSecretsView> => {
    const b = checkFields(req.body ?? {}, ['version']);
    const cur = mustApp(params(req).id);
    stale(cur, versionField(b.version));
    const next = await apps.regenerateKey(cur.rowId);
    await log(req, 'app.regenerate_key', next, { aesKeyMasked: mask(cur.encodingAesKey) }, { aesKeyMasked: mask(next.encodingAesKey), tokensEnded: true });
    return withSecrets(req, next);
  });

  app.post(`${P}/:id/reveal`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<AppSecretsView> => {
    checkFields(req.body ?? {}, []);
    const a = mustApp(params(req).id);
    const s = secrets(a);
    // the log says who saw the secrets, never what they are
    await log(req, 'app.reveal_secrets', a, null, { revealed: ['encodingAesKey', ...(s.token ? ['callback token'] : [])] });
    return s;
  });

  app.delete(`${P}/:id`, { preHandler: guard }, async (req, reply) => {
    const q = checkQuery(req.query, ['version']);
    const cur = mustApp(params(req).id);
    const version = queryInt(q, 'version', 1, Number.MAX_SAFE_INTEGER);
    if (version !== undefined) stale(cur, version);
    await apps.delete(cur.rowId);
    await log(req, 'app.delete', cur, logView(cur), null);
    return reply.status(204).send();
  });

  // the logo is the request body (image/png, image/jpeg or application/octet-stream); its type is read from its bytes
  void app.register(async (scope) => {
    scope.addContentTypeParser(LOGO_TYPES, { parseAs: 'buffer', bodyLimit: MAX_LOGO_BYTES }, (_req, body, done) => done(null, body));
    scope.put(`${P}/:id/logo`, { preHandler: guard, bodyLimit: MAX_LOGO_BYTES }, async (req): Promise<AppDetailView> => {
      const q = checkQuery(req.query, ['version']);
      const cur = mustApp(params(req).id);
      const version = queryInt(q, 'version', 1, Number.MAX_SAFE_INTEGER);
      if (version !== undefined) stale(cur, version);
      if (!Buffer.isBuffer(req.body)) throw bad(`send the image as the request body with content-type ${LOGO_TYPES.join(', ')}`);
      const name = apps.putLogo(req.body);
      const next = await apps.update(cur.rowId, { logo: name }, cur.version);
      await log(req, 'app.logo', next, { logo: cur.profile.logo }, { logo: name, bytes: req.body.length });
      return detail(next, await scopeOf(req));
    });
  });

  registerLogoRoute(app, apps);
}

/**
 * GET /api/app-logos/NAME: an app's logo, public (clients show it in their
 * app list; names are the sha256 of the bytes, so they are never guessed
 * from an app and can be cached for ever).
 */
export function registerLogoRoute(app: FastifyInstance, apps: AppService): void {
  app.get(`${LOGO_PATH}/:name`, async (req, reply) => {
    const logo = apps.logo((req.params as { name: string }).name);
    if (!logo) throw new GatewayError('GW_NOT_FOUND', 'no such logo');
    return reply
      .header('content-type', logo.mime)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(logo.bytes);
  });
}
