import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import { isPeopleFacing } from './profile.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';

export const MAX_TEMPLATES = 100;
export const MAX_TEMPLATE_NAME_CHARS = 40;
export const MAX_SECTIONS = 20;
export const MAX_SECTION_TITLE_CHARS = 20;
/** Most apps one template names, over all its sections. */
export const MAX_TEMPLATE_APPS = 200;
export const MAX_TEMPLATE_DEPTS = 1000;
export const MAX_TEMPLATE_USERS = 5000;

export interface TemplateSection {
  title: string;
  /** App row ids, in display order. */
  apps: number[];
}

export interface TemplateMembers {
  /** Departments, each with its subdepartments. */
  depts: DeptId[];
  users: UserId[];
}

export interface PortalTemplate {
  id: number;
  name: string;
  isDefault: boolean;
  /** Lower first; the default template is always last. */
  priority: number;
  sections: TemplateSection[];
  members: TemplateMembers;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** What a person's workbench shows: the template that applied and, per section, the apps they may see. */
export interface ResolvedPortal {
  template: PortalTemplate;
  sections: { title: string; apps: OpenApp[] }[];
}

interface Row {
  id: number;
  name: string;
  is_default: number;
  priority: number;
  sections: string;
  members: string;
  version: number;
  created_at: number;
  updated_at: number;
}

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function text(what: string, v: unknown, min: number, max: number): string {
  if (typeof v !== 'string') throw bad(`${what} must be a string`);
  const t = v.trim();
  const n = [...t].length;
  if (n < min || n > max) throw bad(`${what} must be ${min}–${max} characters`);
  if (CONTROL_RE.test(t)) throw bad(`${what} contains control characters`);
  return t;
}

export function checkTemplateName(v: unknown): string {
  return text('name', v, 1, MAX_TEMPLATE_NAME_CHARS);
}

export function idList(what: string, v: unknown, max: number): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > max || !v.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) throw bad(`${what} must be at most ${max} positive integer ids`);
  return [...new Set(v as number[])];
}

/**
 * Portal templates (F-5.1; docs/admin-api-portal.md): the default template
 * (every app a person may see, every member) always exists and cannot be
 * changed or deleted; custom templates name their apps in sections and their
 * members. A person gets the custom template of the lowest priority that
 * includes them (by name, or by one of their departments or any department
 * above it), else the default; the apps' own visibility still applies. Every
 * change publishes `portal.changed`.
 */
export class PortalService {
  constructor(
    private readonly db: Db,
    private readonly apps: AppService,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
  ) {}

  /** Custom templates by priority, then the default. */
  list(): PortalTemplate[] {
    return (this.db.prepare('SELECT * FROM portal_templates ORDER BY is_default, priority, id').all() as Row[]).map(fromRow);
  }

  get(id: number): PortalTemplate | null {
    const r = this.db.prepare('SELECT * FROM portal_templates WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  must(id: number): PortalTemplate {
    const t = Number.isSafeInteger(id) ? this.get(id) : null;
    if (!t) throw new GatewayError('GW_NOT_FOUND', `template ${id} does not exist`);
    return t;
  }

  /**
   * Sections as given: titles of 0–20 characters, apps that exist, are not
   * deleted and are people-facing, each app at most once in the template.
   */
  checkSections(v: unknown): TemplateSection[] {
    if (!Array.isArray(v) || v.length > MAX_SECTIONS) throw bad(`sections must be a list of at most ${MAX_SECTIONS}`);
    const seen = new Set<number>();
    return v.map((s: unknown, i): TemplateSection => {
      const o = s as { title?: unknown; apps?: unknown } | null;
      if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad(`sections[${i}] must be {title, apps}`);
      for (const k of Object.keys(o)) if (k !== 'title' && k !== 'apps') throw bad(`sections[${i}]: unknown field ${k.slice(0, 40)}`);
      const title = o.title === undefined || o.title === null ? '' : text(`sections[${i}].title`, o.title, 0, MAX_SECTION_TITLE_CHARS);
      if (!Array.isArray(o.apps) || !o.apps.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) throw bad(`sections[${i}].apps must be a list of app ids`);
      for (const id of o.apps as number[]) {
        if (seen.has(id)) throw bad(`app ${id} appears more than once in the template`);
        seen.add(id);
        if (seen.size > MAX_TEMPLATE_APPS) throw bad(`a template names at most ${MAX_TEMPLATE_APPS} apps`);
        const a = this.apps.get(id);
        if (!a || a.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${id} does not exist`);
        if (!isPeopleFacing(a)) throw bad(`app ${id} (${a.name}) is not shown to people; it cannot be on a workbench`);
      }
      return { title, apps: [...(o.apps as number[])] };
    });
  }

  /** Makes a custom template at the lowest priority. Members are checked by the caller (they exist; the administrator's scope). */
  create(input: { name: unknown; sections: unknown; members: TemplateMembers }): PortalTemplate {
    const name = checkTemplateName(input.name);
    const sections = this.checkSections(input.sections ?? []);
    const now = this.now();
    const id = this.db.transaction(() => {
      const n = (this.db.prepare('SELECT COUNT(*) AS n FROM portal_templates WHERE is_default = 0').get() as { n: number }).n;
      if (n >= MAX_TEMPLATES) throw new GatewayError('GW_CONFLICT', `there are already ${MAX_TEMPLATES} templates`);
      const p = (this.db.prepare('SELECT COALESCE(MAX(priority), 0) AS p FROM portal_templates WHERE is_default = 0').get() as { p: number }).p;
      return Number(
        this.db
          .prepare('INSERT INTO portal_templates (name, is_default, priority, sections, members, version, created_at, updated_at) VALUES (?, 0, ?, ?, ?, 1, ?, ?)')
          .run(name, p + 1, JSON.stringify(sections), JSON.stringify(input.members), now, now).lastInsertRowid,
      );
    })();
    this.bus.publish({ type: 'portal.changed' });
    return this.must(id);
  }

  /** Changes a custom template; GW_CONFLICT when `version` is stale, GW_FORBIDDEN for the default template. */
  update(id: number, patch: { name?: unknown; sections?: unknown; members?: TemplateMembers }, version: number): PortalTemplate {
    const cur = this.must(id);
    if (cur.isDefault) throw new GatewayError('GW_FORBIDDEN', 'the default template shows every app to every member; it cannot be changed');
    const name = patch.name === undefined ? null : checkTemplateName(patch.name);
    const sections = patch.sections === undefined ? null : JSON.stringify(this.checkSections(patch.sections));
    const members = patch.members === undefined ? null : JSON.stringify(patch.members);
    const r = this.db
      .prepare(
        `UPDATE portal_templates SET name = COALESCE(?, name), sections = COALESCE(?, sections), members = COALESCE(?, members), version = version + 1, updated_at = ?
         WHERE id = ? AND version = ?`,
      )
      .run(name, sections, members, this.now(), id, version);
    if (r.changes === 0) throw stale(cur.version);
    this.bus.publish({ type: 'portal.changed' });
    return this.must(id);
  }

  /** Deletes a custom template; the default one cannot be deleted. */
  delete(id: number, version?: number): void {
    const cur = this.must(id);
    if (cur.isDefault) throw new GatewayError('GW_FORBIDDEN', 'the default template cannot be deleted');
    if (version !== undefined && version !== cur.version) throw stale(cur.version);
    this.db.prepare('DELETE FROM portal_templates WHERE id = ?').run(id);
    this.bus.publish({ type: 'portal.changed' });
  }

  /**
   * Sets the priorities: `ids` lists every custom template once, highest
   * priority first. GW_CONFLICT when the list is not exactly the current
   * custom templates (one was added or deleted meanwhile).
   */
  reorder(ids: number[]): PortalTemplate[] {
    this.db.transaction(() => {
      const current = (this.db.prepare('SELECT id FROM portal_templates WHERE is_default = 0').all() as { id: number }[]).map((r) => r.id);
      const given = new Set(ids);
      if (given.size !== ids.length || given.size !== current.length || !current.every((id) => given.has(id))) {
        throw new GatewayError('GW_CONFLICT', 'the templates were changed by someone else; reload and try again');
      }
      const set = this.db.prepare('UPDATE portal_templates SET priority = ? WHERE id = ?');
      ids.forEach((id, i) => set.run(i + 1, id));
    })();
    this.bus.publish({ type: 'portal.changed' });
    return this.list();
  }

  /** The template that applies to `userId`: the first custom template by priority that includes them, else the default. */
  templateFor(userId: UserId): PortalTemplate {
    const list = this.list();
    const custom = list.filter((t) => !t.isDefault);
    if (custom.length > 0) {
      const rows = this.db
        .prepare(
          `WITH RECURSIVE up(id) AS (SELECT dept_id FROM user_departments WHERE user_id = ?
             UNION SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.parent_id IS NOT NULL)
           SELECT id FROM up`,
        )
        .all(userId) as { id: number }[];
      const mine = new Set(rows.map((r) => r.id));
      const hit = custom.find((t) => t.members.users.includes(userId) || t.members.depts.some((d) => mine.has(d)));
      if (hit) return hit;
    }
    return list.find((t) => t.isDefault) as PortalTemplate;
  }

  /**
   * What `userId`'s workbench shows. The default template: one untitled
   * section of every app they see (as `apps.list`). A custom template: its
   * sections in order, each with only the apps the user may see (enabled,
   * visible to them); sections left empty are dropped.
   */
  resolve(userId: UserId): ResolvedPortal {
    const template = this.templateFor(userId);
    const visible = this.apps.visibleTo(userId);
    if (template.isDefault) return { template, sections: visible.length > 0 ? [{ title: '', apps: visible }] : [] };
    const byRow = new Map(visible.map((a) => [a.rowId, a] as const));
    const sections = template.sections
      .map((s) => ({ title: s.title, apps: s.apps.map((id) => byRow.get(id)).filter((a): a is OpenApp => a !== undefined) }))
      .filter((s) => s.apps.length > 0);
    return { template, sections };
  }
}

function stale(version: number): GatewayError {
  return new GatewayError('GW_CONFLICT', 'the template was changed by someone else; reload and try again', { details: { version } });
}

function fromRow(r: Row): PortalTemplate {
  return {
    id: r.id, name: r.name, isDefault: r.is_default === 1, priority: r.priority,
    sections: JSON.parse(r.sections) as TemplateSection[], members: JSON.parse(r.members) as TemplateMembers,
    version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
