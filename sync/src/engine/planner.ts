import type { Delta, Snapshot, SourceDept, SourceGroup, SourceUser } from '../source.js';
import {
  emptyCounts,
  type Change,
  type CurOtherUser,
  type CurOwnedUser,
  type CurrentDirectory,
  type DeptRef,
  type MatchKey,
  type Plan,
  type PlanItem,
  type PlanPolicy,
  type UserFields,
  type UserRef,
} from './types.js';

/**
 * The planner: a pure function from what a source read (a snapshot or a
 * delta), the directory's current entries and the source's policies to the
 * plan that makes the source's entries right. It touches only entries this
 * source owns (origin), plus unowned users it adopts under the matching
 * policy; everything else is at most a `conflict` item. A bad source item is
 * skipped with a warning, never the whole read. Nothing changed → no items.
 */

export const MAX_NAME_CHARS = 64;
// eslint-disable-next-line no-control-regex
export const SYNC_ACCOUNT_RE = /^[^\s\u0000-\u001f\u007f/\\]{1,64}$/u;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const MOBILE_RE = /^\+?[0-9][0-9 -]{4,19}$/;
const EXT_MAX = 256;
const DAY_MS = 86_400_000;
const WARN_EXAMPLES = 5;
// eslint-disable-next-line no-control-regex
const CONTROL_G = /[\u0000-\u001f\u007f]+/g;

class Warnings {
  private readonly byKind = new Map<string, { n: number; examples: string[] }>();
  add(kind: string, example: string): void {
    let w = this.byKind.get(kind);
    if (!w) this.byKind.set(kind, (w = { n: 0, examples: [] }));
    w.n += 1;
    if (w.examples.length < WARN_EXAMPLES) w.examples.push(example);
  }
  list(): string[] {
    return [...this.byKind].map(([k, w]) => `${k}: ${w.n} (${w.examples.join('; ')}${w.n > w.examples.length ? '; …' : ''})`);
  }
}

function clean(v: unknown, max: number): string {
  const s = (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '').replace(CONTROL_G, ' ').trim();
  if (s.length <= max) return s;
  const cps = [...s];
  return cps.length > max ? cps.slice(0, max).join('').trim() : s;
}

function extOf(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return s.length > 0 && s.length <= EXT_MAX ? s : null;
}

const lower = (s: string) => s.toLowerCase();
const mobileKey = (s: string) => s.replace(/[^0-9]/g, '').replace(/^(00)?86(?=1\d{10}$)/, '');
function matchValue(key: MatchKey, u: { account: string; email: string; mobile: string }): string {
  if (key === 'account') return lower(u.account);
  if (key === 'email') return lower(u.email);
  return mobileKey(u.mobile);
}

interface NormDept {
  ext: string;
  parentExt: string | null;
  name: string;
  order: number;
}

interface NormUser extends UserFields {
  ext: string;
  deptExts: string[];
  disabledAtSource: boolean;
  loginDn: string | null;
}

const MAX_DN_CHARS = 1024;
// eslint-disable-next-line no-control-regex
const DN_BAD = /[\u0000-\u001f\u007f]/;
const dnOf = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= MAX_DN_CHARS && !DN_BAD.test(v) ? v : null);

export function planSync(read: Snapshot | Delta, cur: CurrentDirectory, policy: PlanPolicy): Plan {
  const warn = new Warnings();
  const counts = emptyCounts();
  const items: PlanItem[] = [];
  const push = (it: Omit<PlanItem, 'seq'>) => {
    items.push({ seq: items.length, ...it } as PlanItem);
    counts[`${it.kind}s` as 'depts' | 'users' | 'groups'][it.op] += 1;
  };
  const isSnapshot = read.kind === 'snapshot';
  const origin = policy.origin;

  // ---- departments ----
  const ownedDeptByExt = new Map<string, (typeof cur.depts)[number]>();
  for (const d of cur.depts) if (d.origin === origin && d.externalId !== null) ownedDeptByExt.set(d.externalId, d);
  const srcDepts = new Map<string, NormDept>();
  for (const raw of Array.isArray(read.depts) ? read.depts : []) {
    const d = (raw ?? {}) as Partial<SourceDept>;
    const ext = extOf(d.externalId);
    if (ext === null) {
      warn.add('departments without a usable external id, skipped', JSON.stringify(d).slice(0, 60));
      continue;
    }
    if (srcDepts.has(ext)) {
      warn.add('departments listed twice, the first kept', ext);
      continue;
    }
    let name = clean(d.name, MAX_NAME_CHARS);
    if (name.includes('/')) name = name.replace(/\//g, '／');
    if (name === '') name = `部门${ext}`.slice(0, MAX_NAME_CHARS);
    const parentExt = d.parentExternalId === null || d.parentExternalId === undefined ? null : extOf(d.parentExternalId);
    srcDepts.set(ext, { ext, parentExt, name, order: Number.isSafeInteger(d.order) ? (d.order as number) : 0 });
  }
  // a delta may name a parent it does not carry: fine when the directory has it
  const knownDept = (ext: string) => srcDepts.has(ext) || (!isSnapshot && ownedDeptByExt.has(ext));
  for (const d of srcDepts.values()) {
    if (d.parentExt !== null && !knownDept(d.parentExt)) {
      warn.add('departments whose parent is not in the source, placed at the top level', `${d.name} (${d.ext})`);
      d.parentExt = null;
    }
  }
  const depth = new Map<string, number>();
  for (const start of srcDepts.values()) {
    const chain: NormDept[] = [];
    const onChain = new Set<string>();
    let c: NormDept | undefined = start;
    while (c && !depth.has(c.ext)) {
      if (onChain.has(c.ext)) {
        warn.add('departments in a parent cycle, placed at the top level', `${c.name} (${c.ext})`);
        c.parentExt = null;
        break;
      }
      onChain.add(c.ext);
      chain.push(c);
      c = c.parentExt === null ? undefined : srcDepts.get(c.parentExt);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const x = chain[i] as NormDept;
      depth.set(x.ext, x.parentExt === null || !srcDepts.has(x.parentExt) ? 0 : (depth.get(x.parentExt) ?? 0) + 1);
    }
  }
  const ordered = [...srcDepts.values()].sort((a, b) => (depth.get(a.ext) ?? 0) - (depth.get(b.ext) ?? 0));
  const deptRef = (ext: string): DeptRef => {
    const e = ownedDeptByExt.get(ext);
    return e ? { id: e.id } : { ext };
  };
  // names taken under each parent by departments the plan does not place
  const taken = new Map<string, Set<string>>();
  const take = (k: string, n: string) => {
    let s = taken.get(k);
    if (!s) taken.set(k, (s = new Set()));
    s.add(n);
  };
  const idToOwnedExt = new Map<number, string>();
  for (const [ext, d] of ownedDeptByExt) idToOwnedExt.set(d.id, ext);
  for (const d of cur.depts) {
    if (d.origin === origin && d.externalId !== null && srcDepts.has(d.externalId)) continue;
    const pk = d.parentId === null ? 'top' : idToOwnedExt.has(d.parentId) && srcDepts.has(idToOwnedExt.get(d.parentId) as string) ? `x:${idToOwnedExt.get(d.parentId)}` : `i:${d.parentId}`;
    take(pk, d.name);
  }
  for (const d of ordered) {
    const parentExisting = d.parentExt === null ? null : ownedDeptByExt.get(d.parentExt);
    const key = d.parentExt === null ? 'top' : srcDepts.has(d.parentExt) ? `x:${d.parentExt}` : `i:${parentExisting?.id ?? 0}`;
    let name = d.name;
    if (taken.get(key)?.has(name)) {
      const base = [...name].slice(0, MAX_NAME_CHARS - d.ext.length - 3).join('');
      name = `${base} (${d.ext})`;
      for (let n = 2; taken.get(key)?.has(name); n++) name = `${base} (${d.ext}-${n})`;
      warn.add('department names taken at the same place by another department, renamed', `${d.name} → ${name}`);
    }
    take(key, name);
    const parent = d.parentExt === null ? null : deptRef(d.parentExt);
    const existing = ownedDeptByExt.get(d.ext);
    if (!existing) {
      push({
        op: 'create', kind: 'dept', externalId: d.ext, targetId: null, label: name, reason: 'new in the source',
        changes: { name: { before: null, after: name }, parent: { before: null, after: parent }, order: { before: null, after: d.order } },
        dept: { parent, name, order: d.order },
      });
      continue;
    }
    const parentId = parent === null ? null : 'id' in parent ? parent.id : -1;
    const changes: Record<string, Change> = {};
    if (parentId !== existing.parentId) changes.parent = { before: existing.parentId, after: parent };
    if (name !== existing.name) changes.name = { before: existing.name, after: name };
    if (d.order !== existing.order) changes.order = { before: existing.order, after: d.order };
    if (Object.keys(changes).length === 0) continue;
    push({
      op: changes.parent ? 'move' : 'update', kind: 'dept', externalId: d.ext, targetId: existing.id, label: name,
      reason: changes.parent ? 'moved to another parent in the source' : 'changed in the source', changes, dept: { parent, name, order: d.order },
    });
  }

  // ---- users ----
  const ownedByExt = new Map<string, CurOwnedUser>();
  for (const u of cur.owned) ownedByExt.set(u.externalId, u);
  const srcUsers = new Map<string, NormUser>();
  const srcAccounts = new Map<string, string>();
  for (const raw of Array.isArray(read.users) ? read.users : []) {
    const u = (raw ?? {}) as Partial<SourceUser>;
    const ext = extOf(u.externalId);
    const account = typeof u.account === 'string' ? u.account.trim() : '';
    if (ext === null) {
      warn.add('users without a usable external id, skipped', JSON.stringify(u.account ?? null).slice(0, 40));
      continue;
    }
    if (!SYNC_ACCOUNT_RE.test(account)) {
      warn.add('users whose account cannot be used (1–64 characters, no spaces, control characters or slashes), skipped', `${ext}: ${JSON.stringify(u.account ?? null).slice(0, 40)}`);
      continue;
    }
    if (srcUsers.has(ext)) {
      warn.add('users listed twice, the first kept', ext);
      continue;
    }
    const other = srcAccounts.get(lower(account));
    if (other !== undefined) {
      warn.add('accounts used by two source users, the first kept', `${account} (${other}, ${ext})`);
      continue;
    }
    srcAccounts.set(lower(account), ext);
    const field = (what: string, v: unknown, re: RegExp): string => {
      const s = clean(v, 320);
      if (s === '' || re.test(s)) return s;
      warn.add(`${what} values that are not valid, left empty`, `${account}: ${s.slice(0, 30)}`);
      return '';
    };
    const deptExts: string[] = [];
    for (const x of Array.isArray(u.deptExternalIds) ? u.deptExternalIds : []) {
      const de = extOf(x);
      if (de === null || !knownDept(de)) {
        warn.add('user departments not in the source, left out', `${account}: ${String(x).slice(0, 30)}`);
        continue;
      }
      if (!deptExts.includes(de)) deptExts.push(de);
    }
    const disabledAtSource = u.disabled === true;
    srcUsers.set(ext, {
      ext, account, name: clean(u.name, MAX_NAME_CHARS) || account,
      email: field('email', u.email, EMAIL_RE), mobile: field('mobile', u.mobile, MOBILE_RE), phone: field('phone', u.phone, MOBILE_RE),
      title: clean(u.title, MAX_NAME_CHARS), gender: u.gender === 'male' || u.gender === 'female' ? u.gender : 'unknown',
      status: disabledAtSource ? 'disabled' : 'active', deptExts, disabledAtSource, loginDn: dnOf(u.loginDn),
    });
  }

  // every account in the directory, for collisions; and per match key, the unowned users
  const accountOwner = new Map<string, number>();
  const originOf = new Map<number, string>();
  for (const u of cur.others) {
    accountOwner.set(lower(u.account), u.id);
    originOf.set(u.id, u.origin);
  }
  for (const u of cur.owned) accountOwner.set(lower(u.account), u.id);
  const index = new Map<MatchKey, Map<string, CurOtherUser[]>>();
  for (const key of policy.matching.by) {
    const m = new Map<string, CurOtherUser[]>();
    for (const u of cur.others) {
      const v = matchValue(key, u);
      if (v === '') continue;
      const l = m.get(v);
      if (l) l.push(u);
      else m.set(v, [u]);
    }
    index.set(key, m);
  }
  const loginDns: { id: number; dn: string | null }[] = [];
  const claimed = new Map<number, string>();
  const userRefs = new Map<string, UserRef>();
  const fieldsOf = (u: NormUser): UserFields => ({ account: u.account, name: u.name, email: u.email, mobile: u.mobile, phone: u.phone, title: u.title, gender: u.gender, status: u.status });
  const USER_FIELDS = ['account', 'name', 'email', 'mobile', 'phone', 'title', 'gender', 'status'] as const;

  for (const u of srcUsers.values()) {
    const depts = u.deptExts.map(deptRef);
    const fields = fieldsOf(u);
    const existing = ownedByExt.get(u.ext);
    if (existing) {
      userRefs.set(u.ext, { id: existing.id });
      const changes: Record<string, Change> = {};
      for (const k of USER_FIELDS) if (existing[k] !== fields[k]) changes[k] = { before: existing[k], after: fields[k] };
      if (changes.account) {
        const holder = accountOwner.get(lower(u.account));
        if (holder !== undefined && holder !== existing.id) {
          push({ op: 'conflict', kind: 'user', externalId: u.ext, targetId: existing.id, label: existing.account, reason: `the new account ${u.account} is taken by another user (#${holder}); the account was not changed`, changes: {} });
          delete changes.account;
          fields.account = existing.account;
        }
      }
      if (!sameDepts(existing.deptIds, depts)) changes.depts = { before: existing.deptIds, after: depts };
      if (existing.missing && !changes.status) changes.status = { before: existing.status, after: fields.status };
      if (Object.keys(changes).length === 0) {
        counts.unchanged += 1;
        if ((existing.loginDn ?? null) !== u.loginDn) loginDns.push({ id: existing.id, dn: u.loginDn });
        continue;
      }
      const op = changes.status ? (fields.status === 'disabled' ? 'disable' : 'enable') : Object.keys(changes).length === 1 && changes.depts ? 'move' : 'update';
      const reason = op === 'disable' ? 'disabled at the source' : op === 'enable' ? (existing.missing ? 'back in the source' : 'enabled again at the source') : op === 'move' ? 'departments changed in the source' : 'changed in the source';
      push({ op, kind: 'user', externalId: u.ext, targetId: existing.id, label: fields.account, reason, changes, user: { ...fields, depts, loginDn: u.loginDn } });
      continue;
    }
    // not ours yet: match by the policy, never merging two people silently
    let decided = false;
    for (const key of policy.matching.by) {
      const v = matchValue(key, u);
      if (v === '') continue;
      const found = index.get(key)?.get(v) ?? [];
      if (found.length === 0) continue;
      decided = true;
      const base = { kind: 'user' as const, externalId: u.ext, label: u.account, changes: {} };
      if (found.length > 1) {
        push({ ...base, op: 'conflict', targetId: null, reason: `${found.length} users match by ${key} (${found.map((f) => `#${f.id} ${f.account}`).slice(0, 5).join(', ')}); not merged` });
        break;
      }
      const cand = found[0] as CurOtherUser;
      const holder = accountOwner.get(lower(u.account));
      if (cand.origin !== 'local') {
        push({ ...base, op: 'conflict', targetId: cand.id, reason: `matches ${cand.account} (#${cand.id}) by ${key}, who belongs to another source (${cand.origin}); not merged` });
      } else if (!policy.matching.adopt) {
        push({ ...base, op: 'conflict', targetId: cand.id, reason: `matches the local user ${cand.account} (#${cand.id}) by ${key}, and adoption is off for this source` });
      } else if (holder !== undefined && holder !== cand.id) {
        push({ ...base, op: 'conflict', targetId: cand.id, reason: `matches ${cand.account} (#${cand.id}) by ${key}, but the account ${u.account} belongs to another user (#${holder}); not merged` });
      } else if (claimed.has(cand.id)) {
        push({ ...base, op: 'conflict', targetId: cand.id, reason: `matches ${cand.account} (#${cand.id}) by ${key}, who is already matched to ${claimed.get(cand.id)}; not merged` });
      } else {
        claimed.set(cand.id, u.ext);
        userRefs.set(u.ext, { id: cand.id });
        const changes: Record<string, Change> = { origin: { before: 'local', after: origin } };
        const known: Record<string, string> = { account: cand.account, email: cand.email, mobile: cand.mobile };
        for (const k of USER_FIELDS) changes[k] = { before: known[k], after: fields[k] };
        push({ ...base, op: 'adopt', targetId: cand.id, reason: `the local user ${cand.account} matches by ${key}`, changes, user: { ...fields, depts, loginDn: u.loginDn } });
      }
      break;
    }
    if (decided) continue;
    const holder = accountOwner.get(lower(u.account));
    if (holder !== undefined) {
      const o = originOf.get(holder);
      const whose = o === undefined ? 'a user of this source' : o === 'local' ? 'a local user' : `a user of ${o}`;
      push({ op: 'conflict', kind: 'user', externalId: u.ext, targetId: holder, label: u.account, reason: `the account is taken by ${whose} (#${holder}) that the matching policy (${policy.matching.by.join(', ')}) does not match; not merged`, changes: {} });
      continue;
    }
    accountOwner.set(lower(u.account), -1);
    userRefs.set(u.ext, { ext: u.ext });
    const changes: Record<string, Change> = {};
    for (const k of USER_FIELDS) changes[k] = { before: null, after: fields[k] };
    changes.depts = { before: null, after: depts };
    push({ op: 'create', kind: 'user', externalId: u.ext, targetId: null, label: u.account, reason: 'new in the source', changes, user: { ...fields, depts, loginDn: u.loginDn } });
  }

  // users the source no longer has: disabled first, deleted after deletionDays
  const removedUsers = new Set<string>();
  if (isSnapshot) {
    for (const u of cur.owned) if (!srcUsers.has(u.externalId)) removedUsers.add(u.externalId);
  } else {
    for (const x of (read as Delta).removed?.users ?? []) if (typeof x === 'string' && !srcUsers.has(x)) removedUsers.add(x);
    // users dropped earlier stay dropped until a delta names them again
    for (const u of cur.owned) if (u.missing && !srcUsers.has(u.externalId)) removedUsers.add(u.externalId);
  }
  for (const ext of removedUsers) {
    const u = ownedByExt.get(ext);
    if (!u) continue;
    const due = policy.deletionDays !== null && u.missing && u.disabledSince !== null && policy.now - u.disabledSince >= policy.deletionDays * DAY_MS;
    if (u.status === 'active' || !u.missing) {
      push({
        op: 'disable', kind: 'user', externalId: ext, targetId: u.id, label: u.account, missing: true,
        reason: policy.deletionDays === null ? 'no longer in the source (kept disabled)' : `no longer in the source (deleted after ${policy.deletionDays} days)`,
        changes: u.status === 'active' ? { status: { before: 'active', after: 'disabled' } } : {},
      });
    } else if (due) {
      push({ op: 'delete', kind: 'user', externalId: ext, targetId: u.id, label: u.account, reason: `no longer in the source, disabled for ${policy.deletionDays} days or more`, changes: { status: { before: u.status, after: null } } });
    } else {
      counts.unchanged += 1;
    }
  }
  counts.sourceUsers = srcUsers.size;

  // ---- groups (only when the source manages groups) ----
  const groups = read.groups as SourceGroup[] | undefined;
  if (Array.isArray(groups)) {
    const ownedGroups = new Map(cur.groups.map((g) => [g.externalId, g]));
    const seen = new Set<string>();
    const refOfMember = (ext: string): UserRef | undefined => {
      const r = userRefs.get(ext);
      if (r) return r;
      const o = ownedByExt.get(ext);
      return o && !removedUsers.has(ext) ? { id: o.id } : undefined;
    };
    for (const raw of groups) {
      const g = (raw ?? {}) as Partial<SourceGroup>;
      const ext = extOf(g.externalId);
      if (ext === null || seen.has(ext)) {
        warn.add('groups without a usable external id or listed twice, skipped', String(g.externalId).slice(0, 40));
        continue;
      }
      seen.add(ext);
      const name = clean(g.name, MAX_NAME_CHARS) || `群组${ext}`.slice(0, MAX_NAME_CHARS);
      const members: UserRef[] = [];
      const keys = new Set<string>();
      for (const m of Array.isArray(g.memberExternalIds) ? g.memberExternalIds : []) {
        const r = typeof m === 'string' ? refOfMember(m) : undefined;
        if (!r) {
          warn.add('group members who are not users of this source, left out', `${name}: ${String(m).slice(0, 30)}`);
          continue;
        }
        const k = 'id' in r ? `i:${r.id}` : `x:${r.ext}`;
        if (keys.has(k)) continue;
        keys.add(k);
        members.push(r);
      }
      const existing = ownedGroups.get(ext);
      if (!existing) {
        push({ op: 'create', kind: 'group', externalId: ext, targetId: null, label: name, reason: 'new in the source', changes: { name: { before: null, after: name }, members: { before: null, after: members.length } }, group: { name, members } });
        continue;
      }
      const want = new Set(members.map((r) => ('id' in r ? r.id : -1)));
      const changed = name !== existing.name || members.some((r) => !('id' in r) || !existing.memberIds.includes(r.id)) || existing.memberIds.some((id) => !want.has(id));
      if (!changed) continue;
      const changes: Record<string, Change> = {};
      if (name !== existing.name) changes.name = { before: existing.name, after: name };
      changes.members = { before: existing.memberIds.length, after: members.length };
      push({ op: 'update', kind: 'group', externalId: ext, targetId: existing.id, label: name, reason: 'changed in the source', changes, group: { name, members } });
    }
    const removedGroups = isSnapshot ? cur.groups.filter((g) => !seen.has(g.externalId)) : cur.groups.filter((g) => ((read as Delta).removed?.groups ?? []).includes(g.externalId));
    for (const g of removedGroups) push({ op: 'delete', kind: 'group', externalId: g.externalId, targetId: g.id, label: g.name, reason: 'no longer in the source', changes: { name: { before: g.name, after: null } } });
  }

  // departments the source no longer has, children first (one still holding others' members is kept when applied)
  const removedDepts = isSnapshot
    ? [...ownedDeptByExt.keys()].filter((e) => !srcDepts.has(e))
    : ((read as Delta).removed?.depts ?? []).filter((e) => typeof e === 'string' && ownedDeptByExt.has(e) && !srcDepts.has(e));
  const byId = new Map(cur.depts.map((d) => [d.id, d]));
  const curDepth = (id: number) => {
    let n = 0;
    for (let p = byId.get(id)?.parentId ?? null; p !== null && n < 10_000; p = byId.get(p)?.parentId ?? null) n++;
    return n;
  };
  for (const ext of removedDepts.sort((a, b) => curDepth((ownedDeptByExt.get(b) as { id: number }).id) - curDepth((ownedDeptByExt.get(a) as { id: number }).id))) {
    const d = ownedDeptByExt.get(ext) as { id: number; name: string };
    push({ op: 'delete', kind: 'dept', externalId: ext, targetId: d.id, label: d.name, reason: 'no longer in the source', changes: { name: { before: d.name, after: null } } });
  }

  let affected = 0;
  for (const it of items) if (it.kind === 'user' && (it.op === 'disable' || it.op === 'delete') && it.changes.status?.before === 'active') affected += 1;
  const plan: Plan = { origin, read: read.kind, items, counts, warnings: warn.list(), brake: { ownedUsers: cur.owned.length, affected } };
  if (loginDns.length > 0) plan.loginDns = loginDns;
  return plan;
}

/** Same main department and the same set. */
function sameDepts(current: number[], want: DeptRef[]): boolean {
  if (current.length !== want.length) return false;
  if (want.some((r) => !('id' in r))) return false;
  const ids = want.map((r) => (r as { id: number }).id);
  if (current.length > 0 && ids[0] !== current[0]) return false;
  const set = new Set(current);
  return ids.every((id) => set.has(id));
}

/** True when the plan takes away more than `percent` % of the users the source owns (the safety brake). */
export function brakeHolds(plan: Plan, percent: number): boolean {
  if (plan.brake.ownedUsers === 0 || plan.brake.affected === 0) return false;
  return (plan.brake.affected * 100) / plan.brake.ownedUsers > percent;
}
