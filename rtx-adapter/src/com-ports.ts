import type { RtxDept, RtxGroup, RtxUser } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import { HelperCallError, type ComHelper } from './com-helper.js';
import { HelperMethod, MAX_ORG_PAGE, type Department, type Group, type MessageEventData, type User } from './helper-protocol.js';
import { presenceFromCode, type CapturedMessage, type CapturePort, type DirectoryPort, type ImToRtx, type NotifyToRtx, type OrgData, type PresencePort, type PresenceState, type SenderPort } from './ports.js';

/** The bridge ports served by the COM helper (docs/protocol/rtx-helper.md). */

/** How long a port call waits for a (re)starting helper before failing as unreachable. */
const READY_WAIT_MS = 10_000;

export function deptFromHelper(d: Department, useIds: boolean): RtxDept {
  return {
    id: useIds ? String(d.id) : d.path,
    parentId: useIds ? (d.parent_id !== null && d.parent_id !== 0 ? String(d.parent_id) : null) : d.parent_path,
    name: d.name,
    order: d.sort_id ?? 0,
  };
}

export function userFromHelper(u: User, useIds: boolean): RtxUser {
  return {
    account: u.account,
    name: u.name,
    ...(u.uin !== null && u.uin !== undefined ? { uin: u.uin } : {}),
    gender: u.gender === 0 ? 'male' : u.gender === 1 ? 'female' : 'unknown',
    mobile: u.mobile ?? '',
    email: u.email ?? '',
    phone: u.phone ?? '',
    title: u.position ?? '',
    disabled: u.account_state === 1,
    deptIds: useIds && u.dept_ids ? u.dept_ids.map(String) : [...(u.dept_paths ?? [])],
  };
}

export function groupFromHelper(g: Group): RtxGroup {
  return { id: g.id, name: g.name, members: [...g.members], ...(g.session_key ? { sessionKey: g.session_key } : {}) };
}

/** Converts a helper `message` event; null when it lacks what the bridge needs. */
export function capturedFromHelper(e: MessageEventData): CapturedMessage | null {
  if (typeof e?.im_message_id !== 'string' || e.im_message_id === '' || typeof e.sender !== 'string' || !Array.isArray(e.receivers) || typeof e.text !== 'string') return null;
  const group = e.group && typeof e.group.id === 'string' ? { id: e.group.id, name: String(e.group.name ?? '') } : undefined;
  const kind = e.kind === 'group' || group ? 'group' : 'single';
  if (kind === 'group' && !group) return null;
  return {
    imMessageId: e.im_message_id,
    kind,
    sender: e.sender,
    receivers: e.receivers.filter((r) => typeof r === 'string' && r !== ''),
    sessionKey: typeof e.session_key === 'string' ? e.session_key : '',
    ...(group ? { group } : {}),
    text: e.text,
    timeMs: typeof e.time_ms === 'number' && Number.isFinite(e.time_ms) ? e.time_ms : Date.now(),
    via: 'com',
  };
}

export class ComDirectory implements DirectoryPort {
  readonly name = 'com' as const;
  constructor(private readonly helper: ComHelper) {}

  async readOrg(): Promise<OrgData> {
    try {
      return await this.readOnce();
    } catch (e) {
      // a snapshot dropped by the helper (restart, idle expiry) is taken again once
      if (e instanceof HelperCallError && e.code === 'SNAPSHOT_EXPIRED') return this.readOnce();
      throw e;
    }
  }

  private async readOnce(): Promise<OrgData> {
    const h = this.helper;
    await h.whenReady(READY_WAIT_MS);
    const withGroups = h.has('org.groups');
    const snap = await h.call(HelperMethod.OrgSnapshot, { groups: withGroups });
    const id = snap.snapshot_id;
    try {
      const all = async <T>(method: HelperMethod.OrgDepartments | HelperMethod.OrgUsers | HelperMethod.OrgGroups): Promise<T[]> => {
        const out: T[] = [];
        for (let offset: number | null = 0; offset !== null; ) {
          const page = (await h.call(method, { snapshot_id: id, offset, limit: MAX_ORG_PAGE })) as unknown as { items: T[]; next_offset: number | null };
          out.push(...page.items);
          offset = page.next_offset;
        }
        return out;
      };
      const depts = await all<Department>(HelperMethod.OrgDepartments);
      const users = await all<User>(HelperMethod.OrgUsers);
      const groups = withGroups && snap.groups !== null ? await all<Group>(HelperMethod.OrgGroups) : null;
      const useIds = depts.every((d) => typeof d.id === 'number');
      return { source: 'com', depts: depts.map((d) => deptFromHelper(d, useIds)), users: users.map((u) => userFromHelper(u, useIds)), groups: groups?.map(groupFromHelper) ?? null, warnings: [] };
    } finally {
      h.call(HelperMethod.OrgRelease, { snapshot_id: id }).catch(() => undefined);
    }
  }
}

export class ComCapture implements CapturePort {
  readonly name = 'com' as const;
  private off: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private seenStarts = 0;
  /**
   * `catchUp` (optional): another capture path that covers the time COM capture was off (IMWatch)
   * reads everything it has before the first messages of each new capture session are forwarded,
   * so messages sent while capture was off (adapter or helper restart) are not overtaken by
   * later ones in the same conversation.
   */
  constructor(
    private readonly helper: ComHelper,
    private readonly onBad: (e: unknown) => void = () => {},
    private readonly catchUp?: () => Promise<void>,
  ) {}

  async start(sink: (messages: CapturedMessage[]) => Promise<void>): Promise<void> {
    this.off = this.helper.onMessages((batch) => {
      const msgs: CapturedMessage[] = [];
      for (const e of batch) {
        const m = capturedFromHelper(e);
        if (m) msgs.push(m);
        else this.onBad(e);
      }
      if (msgs.length === 0) return;
      const starts = this.helper.status().captureStarts;
      const gap = this.catchUp !== undefined && starts !== this.seenStarts;
      this.seenStarts = starts;
      this.chain = this.chain
        .then(async () => {
          if (gap) await this.catchUp?.().catch(() => undefined);
          await sink(msgs);
        })
        .catch((err: unknown) => this.onBad(err));
    });
    this.helper.setCapture(true);
  }

  async stop(): Promise<void> {
    this.helper.setCapture(false);
    this.off?.();
    await this.chain;
  }

  state(): 'up' | 'down' {
    return this.helper.status().capturing ? 'up' : 'down';
  }
}

export class ComSender implements SenderPort {
  readonly name = 'com' as const;
  constructor(
    private readonly helper: ComHelper,
    private readonly imPassword = '',
  ) {}

  async sendIm(m: ImToRtx): Promise<void> {
    await this.helper.call(HelperMethod.SendIm, { sender: m.sender, pwd: this.imPassword, receivers: m.receivers, msg: m.text, session_key: m.sessionKey }, { readyWaitMs: READY_WAIT_MS });
  }

  async sendNotify(n: NotifyToRtx): Promise<void> {
    await this.helper.call(HelperMethod.SendNotify, { receivers: n.receivers, title: n.title, msg: n.text, delay_ms: n.delayMs ?? 0 }, { readyWaitMs: READY_WAIT_MS });
  }
}

export class ComPresence implements PresencePort {
  readonly name = 'com' as const;
  constructor(private readonly helper: ComHelper) {}

  async poll(): Promise<Map<string, PresenceState>> {
    const online = (await this.helper.call(HelperMethod.PresenceOnline, {}, { readyWaitMs: READY_WAIT_MS })).accounts;
    const out = new Map<string, PresenceState>();
    // presence.online does not tell online from away: ask for the states of those accounts
    for (let i = 0; i < online.length; i += 1000) {
      const chunk = online.slice(i, i + 1000);
      const r = await this.helper.call(HelperMethod.PresenceQuery, { accounts: chunk });
      for (const a of chunk) {
        const st = r.states[a];
        // undefined: the helper did not say (count it online, as presence.online did); null: no such user
        const s = st === undefined ? 'online' : presenceFromCode(st);
        if (s !== 'offline') out.set(a, s);
      }
    }
    return out;
  }
}
