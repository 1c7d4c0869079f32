import { EMAIL_RE, MAX_NAME_CHARS, MOBILE_RE } from '../directory/service.js';
import type { Gender } from '../directory/types.js';
import {
  emptyCounts,
  type CurrentDirectory,
  type CurrentUser,
  type DeptRef,
  type OrgSnapshot,
  type Plan,
  type PlannedDept,
  type UserFields,
  type UserRef,
} from './types.js';

/**
 * The planner of the RTX sync: a pure function from a snapshot and the
 * directory's current state to the plan that makes the RTX-origin entries
 * equal to the snapshot. Local entries are never in a plan, except a local
 * user whose account RTX also has, who is adopted (docs/admin-api-rtx.md,
 * "Decisions"). A bad item is skipped with a warning, never the whole
 * snapshot. An unchanged snapshot gives an empty plan.
 */

export interface PlanOptions {
  /** rtxGroupMemberLimit: a larger RTX group keeps its first N members (in RTX order); the rest are reported. */
  groupMemberLimit: number;
  /** The auto-authorise setting. */
  autoAuthorise: boolean;
  /** Free licence seats: at most this many new users are authorised. */
  freeSeats: number;
}

/**
 * An RTX account as the gateway accepts it: 1–64 characters, no white space,
 * control characters or slashes. Wider than the console's account rule: RTX
 * has accounts such as 钱七.
 */
// eslint-disable-next-line no-control-regex
export const RTX_ACCOUNT_RE = /^[^\s\u0000-\u001f\u007f/\\]{1,64}$/u;
const EXT_ID_MAX = 256;
const WARN_EXAMPLES = 5;

/** Warnings grouped by kind, each with a count and a few examples, so 5,000 bad phones make one line. */
class Warnings {
  private readonly byKind = new Map<string, { n: number; examples: string[] }>();

  add(kind: string, example: string): void {
    let w = this.byKind.get(kind);
    if (!w) this.byKind.set(kind, (w = { n: 0, examples: [] }));
    w.n += 1;
    if (w.examples.length < WARN_EXAMPLES) w.examples.push(example);
  }

  list(): string[] {
    return [...this.byKind].map(([kind, w]) => `${kind}: ${w.n}${w.examples.length ? ` (${w.examples.join('; ')}${w.n > w.examples.length ? '; …' : ''})` : ''}`);
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_G = /[\u0000-\u001f\u007f]+/g;

/** Trimmed, control characters turned to spaces, at most `max` characters (code points). */
function clean(v: unknown, max: number): string {
  const s = (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '').replace(CONTROL_G, ' ').trim();
  const cps = [...s];
  return cps.length > max ? cps.slice(0, max).join('').trim() : s;
}

function idOf(v: unknown): string | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return s.length > 0 && s.length <= EXT_ID_MAX ? s : null;
}

const GENDERS: readonly Gender[] = ['male', 'female', 'unknown'];

interface NormDept {
  ext: string;
  parentExt: string | null;
  name: string;
  order: number;
}

interface NormUser extends UserFields {
  account: string;
  key: string;
  deptExts: string[];
}

const keyOf = (account: string) => account.toLowerCase();
const refKey = (r: UserRef) => ('id' in r ? `i:${r.id}` : `a:${keyOf(r.account)}`);

export function planSync(snap: OrgSnapshot, cur: CurrentDirectory, opts: PlanOptions): Plan {
  const warn = new Warnings();
  const counts = emptyCounts();
  const plan: Plan = {
    depts: { create: [], update: [], remove: [] },
    users: { create: [], update: [], remove: [] },
    groups: { create: [], update: [], remove: [] },
    counts,
    warnings: [],
  };

  // ---- departments ----
  const depts = new Map<string, NormDept>();
  for (const raw of Array.isArray(snap.depts) ? snap.depts : []) {
    const d = (raw ?? {}) as unknown as Record<string, unknown>;
    const ext = idOf(d.id);
    if (ext === null) {
      warn.add('departments without a usable id, skipped', JSON.stringify(d).slice(0, 60));
      continue;
    }
    if (depts.has(ext)) {
      warn.add('departments listed twice, the first kept', ext);
      continue;
    }
    let name = clean(d.name, MAX_NAME_CHARS);
    if (name.includes('/')) {
      warn.add('department names with "/", written as "／"', name);
      name = name.replace(/\//g, '／');
    }
    if (name === '') name = `部门${ext}`.slice(0, MAX_NAME_CHARS);
    const parent = d.parentId === null || d.parentId === undefined || d.parentId === '' ? null : idOf(d.parentId);
    const order = Number.isSafeInteger(d.order) ? (d.order as number) : 0;
    depts.set(ext, { ext, parentExt: parent, name, order });
  }
  for (const d of depts.values()) {
    if (d.parentExt !== null && !depts.has(d.parentExt)) {
      warn.add('departments whose parent is not in the snapshot, placed at the top level', `${d.name} (${d.ext})`);
      d.parentExt = null;
    }
  }
  // break cycles, then order parents first
  const depth = new Map<string, number>();
  const depthOf = (start: NormDept): number => {
    const chain: NormDept[] = [];
    const onChain = new Set<string>();
    let cur: NormDept | undefined = start;
    while (cur && !depth.has(cur.ext)) {
      if (onChain.has(cur.ext)) {
        warn.add('departments in a parent cycle, placed at the top level', `${cur.name} (${cur.ext})`);
        cur.parentExt = null;
        break;
      }
      onChain.add(cur.ext);
      chain.push(cur);
      cur = cur.parentExt === null ? undefined : depts.get(cur.parentExt);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i] as NormDept;
      depth.set(c.ext, c.parentExt === null ? 0 : (depth.get(c.parentExt) ?? 0) + 1);
    }
    return depth.get(start.ext) ?? 0;
  };
  for (const d of depts.values()) depthOf(d);
  const ordered = [...depts.values()].sort((a, b) => (depth.get(a.ext) ?? 0) - (depth.get(b.ext) ?? 0));

  const rtxDeptByExt = new Map<string, (typeof cur.depts)[number]>();
  for (const d of cur.depts) if (d.origin === 'rtx' && d.externalId !== null) rtxDeptByExt.set(d.externalId, d);
  const extOfRtxId = new Map<number, string>();
  for (const [ext, d] of rtxDeptByExt) extOfRtxId.set(d.id, ext);
  // names already taken under each parent by departments the plan does not place (local ones, RTX ones about to go)
  const parentKeyOfExisting = (parentId: number | null) => {
    if (parentId === null) return 'top';
    const ext = extOfRtxId.get(parentId);
    return ext !== undefined && depts.has(ext) ? `x:${ext}` : `i:${parentId}`;
  };
  const taken = new Map<string, Set<string>>();
  const take = (key: string, name: string) => {
    let s = taken.get(key);
    if (!s) taken.set(key, (s = new Set()));
    s.add(name);
  };
  const isTaken = (key: string, name: string) => taken.get(key)?.has(name) ?? false;
  for (const d of cur.depts) {
    if (d.origin === 'rtx' && d.externalId !== null && depts.has(d.externalId)) continue;
    take(parentKeyOfExisting(d.parentId), d.name);
  }
  const deptRef = (ext: string): DeptRef => {
    const existing = rtxDeptByExt.get(ext);
    return existing ? { id: existing.id } : { ext };
  };
  for (const d of ordered) {
    const key = d.parentExt === null ? 'top' : `x:${d.parentExt}`;
    let name = d.name;
    if (isTaken(key, name)) {
      const base = [...name].slice(0, MAX_NAME_CHARS - d.ext.length - 3).join('');
      name = `${base} (${d.ext})`;
      for (let n = 2; isTaken(key, name); n++) name = `${base} (${d.ext}-${n})`;
      warn.add('department names taken by another department at the same place, renamed', `${d.name} → ${name}`);
    }
    take(key, name);
    const planned: PlannedDept = { ext: d.ext, parent: d.parentExt === null ? null : deptRef(d.parentExt), name, order: d.order };
    const existing = rtxDeptByExt.get(d.ext);
    if (!existing) {
      plan.depts.create.push(planned);
      continue;
    }
    const parentId = planned.parent === null ? null : 'id' in planned.parent ? planned.parent.id : -1;
    if (parentId !== existing.parentId || name !== existing.name || d.order !== existing.order) {
      plan.depts.update.push({ ...planned, id: existing.id, before: { parentId: existing.parentId, name: existing.name, order: existing.order } });
    }
  }
  // removals, children first: the deepest departments go first
  const curById = new Map(cur.depts.map((d) => [d.id, d]));
  const curDepth = (id: number) => {
    let n = 0;
    for (let p = curById.get(id)?.parentId ?? null; p !== null && n < 10_000; p = curById.get(p)?.parentId ?? null) n++;
    return n;
  };
  plan.depts.remove = [...rtxDeptByExt.entries()]
    .filter(([ext]) => !depts.has(ext))
    .map(([, d]) => ({ id: d.id, name: d.name, depth: curDepth(d.id) }))
    .sort((a, b) => b.depth - a.depth)
    .map(({ id, name }) => ({ id, name }));
  counts.depts = { created: plan.depts.create.length, updated: plan.depts.update.length, removed: plan.depts.remove.length };

  // ---- users ----
  const users = new Map<string, NormUser>();
  for (const raw of Array.isArray(snap.users) ? snap.users : []) {
    const u = (raw ?? {}) as unknown as Record<string, unknown>;
    const account = typeof u.account === 'string' ? u.account.trim() : '';
    if (!RTX_ACCOUNT_RE.test(account)) {
      warn.add('users whose account cannot be used (1–64 characters, no spaces, control characters or slashes), skipped', JSON.stringify(u.account ?? null).slice(0, 40));
      continue;
    }
    const key = keyOf(account);
    if (users.has(key)) {
      warn.add('accounts listed twice, the first kept', account);
      continue;
    }
    const name = clean(u.name, MAX_NAME_CHARS) || account;
    const field = (what: string, v: unknown, re: RegExp): string => {
      const s = clean(v, 320);
      if (s === '' || re.test(s)) return s;
      warn.add(`${what} values that are not valid, left empty`, `${account}: ${s.slice(0, 30)}`);
      return '';
    };
    const deptExts: string[] = [];
    for (const x of Array.isArray(u.deptIds) ? u.deptIds : []) {
      const ext = idOf(x);
      if (ext === null || !depts.has(ext)) {
        warn.add('user departments not in the snapshot, left out', `${account}: ${String(x).slice(0, 30)}`);
        continue;
      }
      if (!deptExts.includes(ext)) deptExts.push(ext);
    }
    users.set(key, {
      account, key, name,
      mobile: field('mobile', u.mobile, MOBILE_RE), email: field('email', u.email, EMAIL_RE), phone: field('phone', u.phone, MOBILE_RE),
      title: clean(u.title, MAX_NAME_CHARS), gender: GENDERS.includes(u.gender as Gender) ? (u.gender as Gender) : 'unknown',
      status: u.disabled === true ? 'disabled' : 'active', order: 0, deptExts,
    });
  }

  const rtxUserByExt = new Map<string, CurrentUser>();
  for (const u of cur.rtxUsers) rtxUserByExt.set(keyOf(u.externalId ?? u.account), u);
  const anyByAccount = new Map<string, { id: number; account: string; origin: string }>();
  for (const u of cur.otherUsers) anyByAccount.set(keyOf(u.account), u);
  for (const u of cur.rtxUsers) anyByAccount.set(keyOf(u.account), u);

  const userRefs = new Map<string, UserRef>();
  let authorised = 0;
  const canAuthorise = Math.max(0, opts.autoAuthorise ? opts.freeSeats : 0);
  for (const u of users.values()) {
    const deptRefs = u.deptExts.map(deptRef);
    const existing = rtxUserByExt.get(u.key);
    const fields: UserFields = { name: u.name, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title, gender: u.gender, status: u.status, order: u.order };
    if (existing) {
      userRefs.set(u.key, { id: existing.id });
      const set: Partial<UserFields> = {};
      for (const k of ['name', 'mobile', 'email', 'phone', 'title', 'gender', 'status'] as const) if (existing[k] !== fields[k]) (set as Record<string, unknown>)[k] = fields[k];
      const deptsChanged = !sameDepts(existing.deptIds, deptRefs);
      if (Object.keys(set).length > 0 || deptsChanged) {
        plan.users.update.push({ id: existing.id, account: existing.account, set, ...(deptsChanged ? { depts: deptRefs } : {}), adopt: false, disabling: set.status === 'disabled' });
      }
      continue;
    }
    const other = anyByAccount.get(u.key);
    if (other) {
      if (other.origin !== 'local') {
        warn.add('RTX accounts taken by a user from another source, skipped', `${u.account} (${other.origin})`);
        continue;
      }
      // a local user with the RTX account is the same person: adopted (docs/admin-api-rtx.md)
      userRefs.set(u.key, { id: other.id });
      plan.users.update.push({ id: other.id, account: other.account, set: { ...fields }, depts: deptRefs, adopt: true, disabling: u.status === 'disabled' });
      warn.add('local users with an RTX account, adopted as RTX users', u.account);
      counts.users.adopted += 1;
      continue;
    }
    userRefs.set(u.key, { account: u.account });
    const authorise = u.status === 'active' && authorised < canAuthorise;
    if (authorise) authorised += 1;
    plan.users.create.push({ ...fields, account: u.account, depts: deptRefs, authorise });
  }
  plan.users.remove = cur.rtxUsers.filter((u) => !users.has(keyOf(u.externalId ?? u.account))).map((u) => ({ id: u.id, account: u.account }));
  counts.users.created = plan.users.create.length;
  counts.users.updated = plan.users.update.length;
  counts.users.removed = plan.users.remove.length;
  counts.unauthorised = plan.users.create.length - authorised;
  if (counts.unauthorised > 0) {
    plan.warnings.push(
      !opts.autoAuthorise
        ? `${counts.unauthorised} new RTX users are not authorised: auto-authorise is off (authorise them in the console)`
        : `${counts.unauthorised} new RTX users could not be authorised: ${opts.freeSeats <= 0 ? 'no licence seat is free' : `only ${opts.freeSeats} licence seats were free`} (users disabled in RTX are never authorised)`,
    );
  }

  // ---- groups ----
  const rtxGroupByExt = new Map(cur.rtxGroups.map((g) => [g.externalId, g]));
  const seenGroups = new Set<string>();
  for (const raw of Array.isArray(snap.groups) ? snap.groups : []) {
    const g = (raw ?? {}) as unknown as Record<string, unknown>;
    const ext = idOf(g.id);
    if (ext === null) {
      warn.add('groups without a usable id, skipped', JSON.stringify(g).slice(0, 60));
      continue;
    }
    if (seenGroups.has(ext)) {
      warn.add('groups listed twice, the first kept', ext);
      continue;
    }
    seenGroups.add(ext);
    const name = clean(g.name, MAX_NAME_CHARS) || `群组${ext}`.slice(0, MAX_NAME_CHARS);
    const members: UserRef[] = [];
    const seen = new Set<string>();
    for (const m of Array.isArray(g.members) ? g.members : []) {
      const ref = typeof m === 'string' ? userRefs.get(keyOf(m.trim())) : undefined;
      if (!ref) {
        warn.add('group members who are not RTX users in the snapshot, left out', `${name}: ${String(m).slice(0, 30)}`);
        continue;
      }
      const k = refKey(ref);
      if (seen.has(k)) continue;
      seen.add(k);
      members.push(ref);
    }
    if (members.length > opts.groupMemberLimit) {
      warn.add(`groups over the RTX group limit of ${opts.groupMemberLimit} members, applied with their first ${opts.groupMemberLimit}`, `${name} (${members.length})`);
      members.length = opts.groupMemberLimit;
    }
    const existing = rtxGroupByExt.get(ext);
    if (!existing) {
      plan.groups.create.push({ ext, name, members });
      continue;
    }
    const want = new Set(members.map(refKey));
    const add = members.filter((r) => !('id' in r) || !existing.memberIds.includes(r.id));
    const remove = existing.memberIds.filter((id) => !want.has(`i:${id}`));
    if (name !== existing.name || add.length > 0 || remove.length > 0) {
      plan.groups.update.push({ id: existing.id, ext, ...(name !== existing.name ? { name } : {}), add, remove });
    }
  }
  plan.groups.remove = cur.rtxGroups.filter((g) => !seenGroups.has(g.externalId)).map((g) => ({ id: g.id, ext: g.externalId, name: g.name }));
  counts.groups = { created: plan.groups.create.length, updated: plan.groups.update.length, removed: plan.groups.remove.length };

  plan.warnings.push(...warn.list());
  return plan;
}

/** Same main department and the same set of departments. */
function sameDepts(current: number[], want: DeptRef[]): boolean {
  if (current.length !== want.length) return false;
  if (want.some((r) => !('id' in r))) return false;
  const ids = want.map((r) => (r as { id: number }).id);
  if (ids[0] !== current[0]) return false;
  const set = new Set(current);
  return ids.every((id) => set.has(id));
}
