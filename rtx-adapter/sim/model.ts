import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** State of the simulated RTX server: the org, presence, what RTX users received, captures. */

export type Presence = 0 | 1 | 2;

export interface SimDept {
  /** RTX_Dept.DeptID */
  id: number;
  /** 0 = top level */
  parentId: number;
  name: string;
  sortId: number;
}

export interface SimUser {
  /** Sys_User.ID, which is also the UIN (RTX number) in the simulator. */
  id: number;
  /** UserName: the account (ASCII, digits or Chinese). */
  account: string;
  name: string;
  gender: 0 | 1;
  mobile: string;
  email: string;
  phone: string;
  position: string;
  /** 0 enabled, 1 disabled */
  accountState: 0 | 1;
  password: string;
  deptIds: number[];
}

export interface SimGroup {
  /** DisGroupId: a `{GUID}` */
  id: string;
  name: string;
  /** the session Key GUID of the group conversation */
  sessionKey: string;
  /** accounts */
  members: string[];
}

export interface SimOrg {
  depts: SimDept[];
  users: SimUser[];
  groups: SimGroup[];
  presence?: Record<string, Presence>;
}

export type Via = 'http' | 'helper' | 'rtx';

export interface ReceivedIm {
  im_message_id: string;
  sender: string;
  text: string;
  session_key: string;
  group_id: string | null;
  time_ms: number;
  via: Via;
}

export interface ReceivedNotification {
  id: number;
  title: string;
  text: string;
  delay_ms: number;
  broadcast: boolean;
  time_ms: number;
  via: Via;
}

export interface ReceivedSms {
  sender: string;
  text: string;
  time_ms: number;
}

export interface Inbox {
  ims: ReceivedIm[];
  notifications: ReceivedNotification[];
  sms: ReceivedSms[];
}

/** A message an RTX user sent, as a filter app (and IMWatch) sees it. */
export interface CapturedMessage {
  seq: number;
  im_message_id: string;
  kind: 'single' | 'group';
  sender: string;
  receivers: string[];
  session_key: string;
  group: { id: string; name: string } | null;
  text: string;
  time_ms: number;
}

export class SimError extends Error {
  constructor(
    readonly code: 'NO_SUCH_USER' | 'NO_SUCH_DEPT' | 'NO_SUCH_GROUP' | 'CONFLICT' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}

export const guid = (): string => `{${randomUUID().toUpperCase()}}`;

/** A stable `{GUID}` derived from a string (1:1 session keys). */
export function stableGuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex').toUpperCase();
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}}`;
}

const MAX_CAPTURE_LOG = 200_000;

/**
 * The mutable RTX world. Emits `change` after every mutation, `captured` (CapturedMessage)
 * when an RTX user sends, `received` ({account, kind, item}) when an RTX user receives.
 */
export class RtxSimState extends EventEmitter {
  readonly depts = new Map<number, SimDept>();
  private readonly users = new Map<string, SimUser>();
  readonly groups = new Map<string, SimGroup>();
  readonly presence = new Map<string, Presence>();
  private readonly inboxes = new Map<string, Inbox>();
  readonly captureLog: CapturedMessage[] = [];
  captureSeq = 0;
  userVersion = 1;
  deptVersion = 1;
  private notifySeq = 0;
  private nextUserId = 1;
  private nextDeptId = 1;
  /** filter app registered by the helper (null = none) */
  filterApp: { app_guid: string; app_name: string; action: 'copy' | 'distill' } | null = null;

  constructor(org?: SimOrg) {
    super();
    this.setMaxListeners(0);
    if (org) this.load(org);
  }

  load(org: SimOrg): void {
    this.depts.clear();
    this.users.clear();
    this.groups.clear();
    this.presence.clear();
    this.inboxes.clear();
    this.captureLog.length = 0;
    this.filterApp = null;
    for (const d of org.depts) this.depts.set(d.id, { ...d });
    for (const u of org.users) this.users.set(key(u.account), { ...u, deptIds: [...u.deptIds] });
    for (const g of org.groups) this.groups.set(g.id, { ...g, members: [...g.members] });
    for (const [a, p] of Object.entries(org.presence ?? {})) this.presence.set(key(a), p);
    this.nextUserId = Math.max(0, ...org.users.map((u) => u.id)) + 1;
    this.nextDeptId = Math.max(0, ...org.depts.map((d) => d.id)) + 1;
    this.userVersion++;
    this.deptVersion++;
    this.emit('change');
  }

  snapshot(): SimOrg {
    return {
      depts: [...this.depts.values()].map((d) => ({ ...d })),
      users: this.userList().map((u) => ({ ...u, deptIds: [...u.deptIds] })),
      groups: [...this.groups.values()].map((g) => ({ ...g, members: [...g.members] })),
      presence: Object.fromEntries([...this.presence].map(([k, v]) => [this.user(k)?.account ?? k, v])),
    };
  }

  userList(): SimUser[] {
    return [...this.users.values()];
  }

  user(account: string): SimUser | undefined {
    return this.users.get(key(account));
  }

  userByUin(uin: number): SimUser | undefined {
    for (const u of this.users.values()) if (u.id === uin) return u;
    return undefined;
  }

  requireUser(account: string): SimUser {
    const u = this.user(account);
    if (!u) throw new SimError('NO_SUCH_USER', `no such user: ${account}`);
    return u;
  }

  /** Backslash path of a department (`总部\研发部`). */
  deptPath(id: number): string {
    const names: string[] = [];
    const seen = new Set<number>();
    for (let d = this.depts.get(id); d && !seen.has(d.id); d = this.depts.get(d.parentId)) {
      seen.add(d.id);
      names.unshift(d.name);
    }
    return names.join('\\');
  }

  getPresence(account: string): Presence {
    return this.presence.get(key(account)) ?? 0;
  }

  setPresence(account: string, state: Presence): void {
    this.requireUser(account);
    this.presence.set(key(account), state);
    this.emit('change');
  }

  addUser(input: Partial<SimUser> & { account: string; name: string }): SimUser {
    if (this.user(input.account)) throw new SimError('CONFLICT', `user exists: ${input.account}`);
    for (const d of input.deptIds ?? []) if (!this.depts.has(d)) throw new SimError('NO_SUCH_DEPT', `no such department: ${d}`);
    const u: SimUser = {
      id: input.id ?? this.nextUserId++,
      account: input.account,
      name: input.name,
      gender: input.gender ?? 0,
      mobile: input.mobile ?? '',
      email: input.email ?? '',
      phone: input.phone ?? '',
      position: input.position ?? '',
      accountState: input.accountState ?? 0,
      password: input.password ?? '',
      deptIds: [...(input.deptIds ?? [])],
    };
    this.nextUserId = Math.max(this.nextUserId, u.id + 1);
    this.users.set(key(u.account), u);
    this.userVersion++;
    this.emit('change');
    return u;
  }

  /** Renames, edits or moves (deptIds) a user. The account itself cannot change (as in RTX). */
  updateUser(account: string, patch: Partial<Omit<SimUser, 'id' | 'account'>>): SimUser {
    const u = this.requireUser(account);
    for (const d of patch.deptIds ?? []) if (!this.depts.has(d)) throw new SimError('NO_SUCH_DEPT', `no such department: ${d}`);
    Object.assign(u, patch, patch.deptIds ? { deptIds: [...patch.deptIds] } : {});
    this.userVersion++;
    this.emit('change');
    return u;
  }

  removeUser(account: string): void {
    const u = this.requireUser(account);
    this.users.delete(key(account));
    this.presence.delete(key(account));
    for (const g of this.groups.values()) g.members = g.members.filter((m) => key(m) !== key(u.account));
    this.userVersion++;
    this.emit('change');
  }

  addDept(input: { name: string; parentId?: number; sortId?: number; id?: number }): SimDept {
    const parentId = input.parentId ?? 0;
    if (parentId !== 0 && !this.depts.has(parentId)) throw new SimError('NO_SUCH_DEPT', `no such department: ${parentId}`);
    const d: SimDept = { id: input.id ?? this.nextDeptId++, parentId, name: input.name, sortId: input.sortId ?? 0 };
    if (this.depts.has(d.id)) throw new SimError('CONFLICT', `department exists: ${d.id}`);
    this.nextDeptId = Math.max(this.nextDeptId, d.id + 1);
    this.depts.set(d.id, d);
    this.deptVersion++;
    this.emit('change');
    return d;
  }

  updateDept(id: number, patch: { name?: string; parentId?: number; sortId?: number }): SimDept {
    const d = this.depts.get(id);
    if (!d) throw new SimError('NO_SUCH_DEPT', `no such department: ${id}`);
    if (patch.parentId !== undefined) {
      for (let p = this.depts.get(patch.parentId); p; p = this.depts.get(p.parentId)) {
        if (p.id === id) throw new SimError('BAD_REQUEST', 'a department cannot move under itself');
      }
      if (patch.parentId !== 0 && !this.depts.has(patch.parentId)) throw new SimError('NO_SUCH_DEPT', `no such department: ${patch.parentId}`);
    }
    Object.assign(d, patch);
    this.deptVersion++;
    this.emit('change');
    return d;
  }

  /** Removes a department; like RTX it must be empty (no child departments, no users). */
  removeDept(id: number): void {
    if (!this.depts.has(id)) throw new SimError('NO_SUCH_DEPT', `no such department: ${id}`);
    for (const d of this.depts.values()) if (d.parentId === id) throw new SimError('CONFLICT', 'department has child departments');
    for (const u of this.users.values()) if (u.deptIds.includes(id)) throw new SimError('CONFLICT', 'department has users');
    this.depts.delete(id);
    this.deptVersion++;
    this.emit('change');
  }

  addGroup(input: { name: string; members: string[]; id?: string; sessionKey?: string }): SimGroup {
    const members = input.members.map((m) => this.requireUser(m).account);
    const g: SimGroup = { id: input.id ?? guid(), name: input.name, sessionKey: input.sessionKey ?? guid(), members };
    this.groups.set(g.id, g);
    this.emit('change');
    return g;
  }

  requireGroup(id: string): SimGroup {
    const g = this.groups.get(id);
    if (!g) throw new SimError('NO_SUCH_GROUP', `no such group: ${id}`);
    return g;
  }

  updateGroup(id: string, patch: { name?: string; members?: string[] }): SimGroup {
    const g = this.requireGroup(id);
    if (patch.name !== undefined) g.name = patch.name;
    if (patch.members) g.members = patch.members.map((m) => this.requireUser(m).account);
    this.emit('change');
    return g;
  }

  removeGroup(id: string): void {
    this.requireGroup(id);
    this.groups.delete(id);
    this.emit('change');
  }

  groupBySessionKey(k: string): SimGroup | undefined {
    const lower = k.toLowerCase();
    for (const g of this.groups.values()) if (g.sessionKey.toLowerCase() === lower || g.id.toLowerCase() === lower) return g;
    return undefined;
  }

  inbox(account: string): Inbox {
    const k = key(account);
    let box = this.inboxes.get(k);
    if (!box) {
      box = { ims: [], notifications: [], sms: [] };
      this.inboxes.set(k, box);
    }
    return box;
  }

  deliverIm(receiver: string, im: ReceivedIm): void {
    this.inbox(receiver).ims.push(im);
    this.emit('received', { account: receiver, kind: 'im', item: im });
    this.emit('change');
  }

  deliverNotification(receiver: string, n: Omit<ReceivedNotification, 'id'>): void {
    const item = { ...n, id: ++this.notifySeq };
    this.inbox(receiver).notifications.push(item);
    this.emit('received', { account: receiver, kind: 'notification', item });
    this.emit('change');
  }

  deliverSms(receiver: string, sms: ReceivedSms): void {
    this.inbox(receiver).sms.push(sms);
    this.emit('received', { account: receiver, kind: 'sms', item: sms });
    this.emit('change');
  }

  /**
   * An RTX user sends: to one account (1:1) or into a group. The message reaches the
   * receivers' inboxes (unless a distilling filter app is registered) and the capture stream.
   * `copies` > 1 emits the same message (same im_message_id) several times on the capture
   * stream, as a filter app restart or a second capture path would.
   */
  rtxUserSends(input: { sender: string; to?: string; groupId?: string; text: string; sessionKey?: string; timeMs?: number; copies?: number; imMessageId?: string }): CapturedMessage {
    const sender = this.requireUser(input.sender);
    let msg: Omit<CapturedMessage, 'seq'>;
    const time_ms = input.timeMs ?? Date.now();
    const im_message_id = input.imMessageId ?? guid();
    if (input.groupId !== undefined) {
      const g = this.requireGroup(input.groupId);
      if (!g.members.some((m) => key(m) === key(sender.account))) throw new SimError('BAD_REQUEST', `${sender.account} is not a member of ${g.id}`);
      msg = {
        im_message_id,
        kind: 'group',
        sender: sender.account,
        receivers: g.members.filter((m) => key(m) !== key(sender.account)),
        session_key: g.sessionKey,
        group: { id: g.id, name: g.name },
        text: input.text,
        time_ms,
      };
    } else {
      if (!input.to) throw new SimError('BAD_REQUEST', 'give "to" (an account) or "group_id"');
      const to = this.requireUser(input.to);
      msg = {
        im_message_id,
        kind: 'single',
        sender: sender.account,
        receivers: [to.account],
        session_key: input.sessionKey ?? pairSessionKey(sender.account, to.account),
        group: null,
        text: input.text,
        time_ms,
      };
    }
    if (this.filterApp?.action !== 'distill') {
      for (const r of msg.receivers) {
        this.deliverIm(r, { im_message_id, sender: msg.sender, text: msg.text, session_key: msg.session_key, group_id: msg.group?.id ?? null, time_ms, via: 'rtx' });
      }
    }
    let first: CapturedMessage | undefined;
    for (let i = 0; i < Math.max(1, input.copies ?? 1); i++) {
      const captured: CapturedMessage = { ...msg, receivers: [...msg.receivers], seq: ++this.captureSeq };
      first ??= captured;
      this.captureLog.push(captured);
      if (this.captureLog.length > MAX_CAPTURE_LOG) this.captureLog.splice(0, this.captureLog.length - MAX_CAPTURE_LOG);
      this.emit('captured', captured);
    }
    this.emit('change');
    return first as CapturedMessage;
  }

  capturedAfter(seq: number, limit: number): CapturedMessage[] {
    const out: CapturedMessage[] = [];
    // seqs are dense and increasing: binary search the first one > seq
    let lo = 0;
    let hi = this.captureLog.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.captureLog[mid] as CapturedMessage).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.captureLog.length && out.length < limit; i++) out.push(this.captureLog[i] as CapturedMessage);
    return out;
  }

  /** Resolves when check() returns a value (re-checked on every change) or after timeoutMs with undefined. */
  waitFor<T>(check: () => T | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined> {
    const now = check();
    if (now !== undefined || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (v: T | undefined) => {
        clearTimeout(timer);
        this.off('change', onChange);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onChange = () => {
        const v = check();
        if (v !== undefined) done(v);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.on('change', onChange);
      signal?.addEventListener('abort', onAbort);
    });
  }
}

export function pairSessionKey(a: string, b: string): string {
  return stableGuid([key(a), key(b)].sort().join('\u0000'));
}

function key(account: string): string {
  return account.trim().toLowerCase();
}
