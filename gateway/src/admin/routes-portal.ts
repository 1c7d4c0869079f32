import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NamedUser } from '../apps/api-types.js';
import { idList, MAX_TEMPLATE_DEPTS, MAX_TEMPLATE_USERS, type PortalService, type PortalTemplate, type TemplateMembers } from '../apps/portal.js';
import type { PortalPreviewView, TemplateDetailView, TemplateListView, TemplateSummaryView, WorkbenchSettingsView, BannerImageView } from '../apps/portal-types.js';
import { workbenchView } from '../apps/portal-view.js';
import { BANNER_PATH, bannerUrl, DEFAULT_BANNERS, MAX_BANNER_BYTES, type WorkbenchService, type WorkbenchSettings } from '../apps/workbench.js';
import type { DeptRecord, UserRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { LOGO_PATH, logoUrl } from './routes-apps.js';
import { checkFields, checkQuery, queryInt } from './routes-groups.js';
import { deptMap, deptPath } from './routes-org.js';

export type * from '../apps/portal-types.js';

const SMALL_BODY_BYTES = 64 * 1024;
/** Member lists up to 1,000 departments and 5,000 people. */
const TEMPLATE_BODY_BYTES = 256 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'application/octet-stream'];

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);
const forbidden = (message: string) => new GatewayError('GW_FORBIDDEN', message);

function versionField(v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw bad('version is required: the version of what you are changing');
  return v as number;
}

function summary(t: PortalTemplate): TemplateSummaryView {
  return {
    id: t.id, name: t.name, isDefault: t.isDefault, priority: t.isDefault ? 0 : t.priority,
    apps: t.sections.reduce((n, s) => n + s.apps.length, 0), sections: t.sections.length,
    members: { depts: t.members.depts.length, users: t.members.users.length },
    version: t.version, updatedAt: t.updatedAt,
  };
}

/**
 * The workbench and portal templates in the console (docs/admin-api-portal.md;
 * F-4.1, F-5.1). Right `apps` for every route. The workbench's title and
 * banners, the templates' priorities, apply to everyone: only an
 * administrator over the whole organisation changes them. An administrator
 * with a department scope names only members inside it (the others stay as
 * they are) and changes the name and apps, or deletes, only templates whose
 * members are all inside it. Writes carry a `version` (409 when stale) and go
 * to the action log.
 */
export function registerPortalRoutes(app: FastifyInstance, deps: { services: Services; portal: PortalService; workbench: WorkbenchService }): void {
  const { portal, workbench } = deps;
  const { admin, directory, apps } = deps.services;
  const guard = requireAdmin(Right.Apps);
  const W = `${ADMIN_PREFIX}/workbench`;
  const P = `${ADMIN_PREFIX}/portal`;
  const params = (req: FastifyRequest) => req.params as Record<string, string>;
  const scopeOf = (req: FastifyRequest) => admin.scopeFilter(actionContext(req).admin, Right.Apps);
  const sees = (u: UserRecord, scope: Set<DeptId> | null) => scope === null || u.depts.some((d) => scope.has(d.deptId));
  const named = (u: UserRecord): NamedUser => ({ id: u.id, account: u.account, name: u.name });
  const wholeOrg = (scope: Set<DeptId> | null, what: string) => {
    if (scope !== null) throw forbidden(`only an administrator over the whole organisation may ${what}`);
  };

  const log = async (req: FastifyRequest, action: string, target: { kind: string; id: number | null; label: string }, before: unknown, after: unknown) => {
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, action, target, before, after, ctx.address);
  };
  const templateTarget = (t: PortalTemplate) => ({ kind: 'portal_template', id: t.id, label: t.name });
  const workbenchTarget = { kind: 'workbench', id: null, label: 'workbench' };

  const settingsView = (s: WorkbenchSettings, scope: Set<DeptId> | null): WorkbenchSettingsView => ({
    title: s.title,
    banners: s.banners.map((b) => ({ image: b.image, url: bannerUrl(b.image), link: b.link })),
    defaults: DEFAULT_BANNERS.map((image) => ({ image, url: bannerUrl(image) })),
    editable: scope === null,
    version: s.version, updatedAt: s.updatedAt,
  });

  /** The template's members split into those the administrator sees and those only counted. */
  const membersOf = async (t: PortalTemplate, scope: Set<DeptId> | null) => {
    const byId = await deptMap(deps.services);
    const depts = t.members.depts.filter((d) => byId.has(d));
    const shownDepts = depts.filter((d) => scope === null || scope.has(d));
    const people = await directory.getUsers(t.members.users);
    const shownUsers = people.filter((u) => sees(u, scope));
    return {
      depts: shownDepts.map((d) => ({ id: d, name: (byId.get(d) as DeptRecord).name, path: deptPath(byId, d) })),
      users: shownUsers.map(named),
      hiddenDepts: depts.length - shownDepts.length,
      hiddenUsers: people.length - shownUsers.length,
    };
  };

  const detail = async (t: PortalTemplate, scope: Set<DeptId> | null): Promise<TemplateDetailView> => {
    const m = await membersOf(t, scope);
    return {
      ...summary(t),
      sectionsDetail: t.sections.map((s) => ({
        title: s.title,
        apps: s.apps.flatMap((id) => {
          const a = apps.get(id);
          return a && a.origin !== 'deleted' ? [{ id: a.rowId, key: a.key, name: a.name, logoUrl: logoUrl(a.profile.logo), enabled: a.enabled }] : [];
        }),
      })),
      membersDetail: m,
      editable: !t.isDefault && m.hiddenDepts === 0 && m.hiddenUsers === 0,
      createdAt: t.createdAt,
    };
  };

  const mustTemplate = (raw: unknown): PortalTemplate => {
    const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    const t = Number.isSafeInteger(id) ? portal.get(id) : null;
    if (!t) throw new GatewayError('GW_NOT_FOUND', `template ${String(raw).slice(0, 20)} does not exist`);
    return t;
  };

  /**
   * The members an administrator sets: each department and person must exist
   * and be in their scope; those of the current lists outside it are kept.
   */
  const mergeMembers = async (b: Record<string, unknown>, current: TemplateMembers, scope: Set<DeptId> | null): Promise<TemplateMembers> => {
    const depts = idList('depts', b.depts, MAX_TEMPLATE_DEPTS) as DeptId[];
    const users = idList('users', b.users, MAX_TEMPLATE_USERS) as UserId[];
    const byId = await deptMap(deps.services);
    const unknownDepts = depts.filter((d) => !byId.has(d));
    if (unknownDepts.length > 0) throw new GatewayError('GW_NOT_FOUND', `unknown department id(s) ${unknownDepts.slice(0, 10).join(', ')}`);
    const found = new Map((await directory.getUsers([...new Set([...users, ...current.users])])).map((u) => [u.id as number, u] as const));
    const unknownUsers = users.filter((id) => !found.has(id));
    if (unknownUsers.length > 0) throw new GatewayError('GW_NOT_FOUND', `unknown user id(s) ${unknownUsers.slice(0, 10).join(', ')}`);
    if (scope === null) return { depts, users };
    const outsideDepts = depts.filter((d) => !scope.has(d));
    if (outsideDepts.length > 0) throw forbidden(`department(s) ${outsideDepts.slice(0, 10).map((d) => deptPath(byId, d)).join(', ')} are outside the departments you may manage`);
    const outsideUsers = users.filter((id) => !sees(found.get(id) as UserRecord, scope));
    if (outsideUsers.length > 0) throw forbidden(`user(s) ${outsideUsers.slice(0, 10).join(', ')} are outside the departments you may manage`);
    const keptDepts = current.depts.filter((d) => byId.has(d) && !scope.has(d));
    const keptUsers = current.users.filter((id) => { const u = found.get(id); return !!u && !sees(u, scope); });
    return { depts: [...new Set([...depts, ...keptDepts])], users: [...new Set([...users, ...keptUsers])] };
  };

  // --- the workbench ---

  app.get(W, { preHandler: guard }, async (req): Promise<WorkbenchSettingsView> => settingsView(workbench.get(), await scopeOf(req)));

  app.put(W, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<WorkbenchSettingsView> => {
    const b = checkFields(req.body, ['version', 'title', 'banners']);
    const scope = await scopeOf(req);
    wholeOrg(scope, 'change the workbench');
    const before = workbench.get();
    const next = workbench.update({ title: b.title, banners: b.banners }, versionField(b.version));
    await log(req, 'workbench.update', workbenchTarget, { title: before.title, banners: before.banners }, { title: next.title, banners: next.banners });
    return settingsView(next, scope);
  });

  // a custom banner image is the request body (image/png, image/jpeg or application/octet-stream); its type is read from its bytes
  void app.register(async (s) => {
    s.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer', bodyLimit: MAX_BANNER_BYTES }, (_req, body, done) => done(null, body));
    s.post(`${W}/images`, { preHandler: guard, bodyLimit: MAX_BANNER_BYTES }, async (req, reply) => {
      checkQuery(req.query, []);
      wholeOrg(await scopeOf(req), 'change the workbench');
      if (!Buffer.isBuffer(req.body)) throw bad(`send the image as the request body with content-type ${IMAGE_TYPES.join(', ')}`);
      const image = workbench.putImage(req.body);
      await log(req, 'workbench.image', workbenchTarget, null, { image, bytes: req.body.length });
      const view: BannerImageView = { image, url: bannerUrl(image) };
      return reply.status(201).send(view);
    });
  });

  // --- templates ---

  app.get(`${P}/templates`, { preHandler: guard }, async (req): Promise<TemplateListView> => {
    checkQuery(req.query, []);
    return { templates: portal.list().map(summary), canReorder: (await scopeOf(req)) === null };
  });

  app.get(`${P}/templates/:id`, { preHandler: guard }, async (req): Promise<TemplateDetailView> => detail(mustTemplate(params(req).id), await scopeOf(req)));

  app.post(`${P}/templates`, { preHandler: guard, bodyLimit: TEMPLATE_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['name', 'sections', 'depts', 'users']);
    const scope = await scopeOf(req);
    const members = await mergeMembers(b, { depts: [], users: [] }, scope);
    const t = portal.create({ name: b.name, sections: b.sections ?? [], members });
    await log(req, 'portal.template.create', templateTarget(t), null, { name: t.name, sections: t.sections, members: t.members, priority: t.priority });
    return reply.status(201).send(await detail(t, scope));
  });

  app.patch(`${P}/templates/:id`, { preHandler: guard, bodyLimit: TEMPLATE_BODY_BYTES }, async (req): Promise<TemplateDetailView> => {
    const b = checkFields(req.body, ['version', 'name', 'sections', 'depts', 'users']);
    const cur = mustTemplate(params(req).id);
    const version = versionField(b.version);
    if (cur.isDefault) throw forbidden('the default template shows every app to every member; it cannot be changed');
    const scope = await scopeOf(req);
    const shown = await membersOf(cur, scope);
    if ((b.name !== undefined || b.sections !== undefined) && (shown.hiddenDepts > 0 || shown.hiddenUsers > 0)) {
      throw forbidden('the template includes members outside the departments you may manage; only its members inside them may be changed');
    }
    // a list not given stays as it is
    const members = b.depts !== undefined || b.users !== undefined
      ? await mergeMembers({ depts: b.depts ?? shown.depts.map((d) => d.id), users: b.users ?? shown.users.map((u) => u.id) }, cur.members, scope)
      : undefined;
    const next = portal.update(cur.id, { ...(b.name !== undefined ? { name: b.name } : {}), ...(b.sections !== undefined ? { sections: b.sections } : {}), ...(members ? { members } : {}) }, version);
    await log(req, 'portal.template.update', templateTarget(next), { name: cur.name, sections: cur.sections, members: cur.members }, { name: next.name, sections: next.sections, members: next.members });
    return detail(next, scope);
  });

  app.delete(`${P}/templates/:id`, { preHandler: guard }, async (req, reply) => {
    const q = checkQuery(req.query, ['version']);
    const cur = mustTemplate(params(req).id);
    if (!cur.isDefault && !(await detail(cur, await scopeOf(req))).editable) {
      throw forbidden('the template includes members outside the departments you may manage; it cannot be deleted by you');
    }
    portal.delete(cur.id, queryInt(q, 'version', 1, Number.MAX_SAFE_INTEGER));
    await log(req, 'portal.template.delete', templateTarget(cur), { name: cur.name, sections: cur.sections, members: cur.members, priority: cur.priority }, null);
    return reply.status(204).send();
  });

  app.put(`${P}/order`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<TemplateListView> => {
    const b = checkFields(req.body, ['ids']);
    wholeOrg(await scopeOf(req), 'change the templates’ priorities');
    if (!Array.isArray(b.ids) || !b.ids.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) throw bad('ids must list every custom template id, highest priority first');
    const before = portal.list().filter((t) => !t.isDefault).map((t) => t.id);
    const list = portal.reorder(b.ids as number[]);
    await log(req, 'portal.order', { kind: 'portal_template', id: null, label: 'priorities' }, { ids: before }, { ids: b.ids });
    return { templates: list.map(summary), canReorder: true };
  });

  // --- preview ---

  app.get(`${P}/preview`, { preHandler: guard }, async (req): Promise<PortalPreviewView> => {
    const q = checkQuery(req.query, ['userId']);
    const userId = queryInt(q, 'userId', 1, Number.MAX_SAFE_INTEGER);
    if (userId === undefined) throw bad('userId is required');
    const [u] = await directory.getUsers([userId as UserId]);
    if (!u) throw new GatewayError('GW_NOT_FOUND', `user ${userId} does not exist`);
    if (!sees(u, await scopeOf(req))) throw forbidden('the person is outside the departments you may manage');
    return { user: named(u), workbench: workbenchView(workbench.get(), portal.resolve(u.id), u.id, LOGO_PATH) };
  });

  registerBannerRoute(app, workbench);
}

/**
 * GET /api/workbench-banners/NAME: a banner image, public (clients show it on
 * their workbench). Built-in banners are `default-N.jpg`; uploaded ones are
 * named by the sha256 of their bytes, so they can be cached for ever.
 */
export function registerBannerRoute(app: FastifyInstance, workbench: WorkbenchService): void {
  app.get(`${BANNER_PATH}/:name`, async (req, reply) => {
    const img = workbench.image((req.params as { name: string }).name);
    if (!img) throw new GatewayError('GW_NOT_FOUND', 'no such banner image');
    return reply
      .header('content-type', img.mime)
      // built-in banners keep their names across versions of the product; uploaded ones are named by their bytes
      .header('cache-control', img.builtIn ? 'public, max-age=86400' : 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(img.bytes);
  });
}
