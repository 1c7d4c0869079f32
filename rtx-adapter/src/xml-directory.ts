import { createReadStream, unwatchFile, watchFile, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RtxDept, RtxGroup, RtxUser } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import { RtxPortError, type DirectoryPort, type OrgData } from './ports.js';
import { readRtxExport, RtxXmlError, type RtxExport } from './rtx-xml.js';

/**
 * The org from an RTX Manager export XML (docs/protocol/rtx-files.md), read with rtx-xml.ts.
 * The file is parsed again only when its size or modification time changed; `watch()` calls
 * back when it changes (polling, so it also works on a network share), so the bridge can send
 * a new snapshot at once.
 */

export const XML_WATCH_INTERVAL_MS = 2_000;

export function orgFromExport(x: RtxExport): OrgData {
  const warnings = [...x.warnings];
  const depts: RtxDept[] = x.departments.map((d) => ({ id: String(d.id), parentId: d.parentId === 0 ? null : String(d.parentId), name: d.name, order: d.sortId ?? 0 }));
  const deptIdsOf = new Map<number, string[]>();
  for (const m of x.memberships) {
    const list = deptIdsOf.get(m.userId) ?? [];
    const id = String(m.deptId);
    if (!list.includes(id)) list.push(id);
    deptIdsOf.set(m.userId, list);
  }
  const accountOf = new Map<number, string>();
  const users: RtxUser[] = x.users.map((u) => {
    accountOf.set(u.id, u.account);
    return {
      account: u.account,
      name: u.name,
      uin: u.id,
      gender: u.gender === 0 ? 'male' : u.gender === 1 ? 'female' : 'unknown',
      mobile: u.mobile,
      email: u.email,
      phone: u.phone,
      title: u.position ?? '',
      disabled: u.accountState === 1,
      deptIds: deptIdsOf.get(u.id) ?? [],
    };
  });
  const groups: RtxGroup[] = [];
  for (const g of x.groups) {
    if (!g.effective) continue;
    const members: string[] = [];
    for (const id of g.memberIds) {
      const a = accountOf.get(id);
      if (a === undefined) warnings.push(`group ${g.id}: member ${id} is not in Sys_User, skipped`);
      else if (!members.includes(a)) members.push(a);
    }
    groups.push({ id: g.id, name: g.name, members });
  }
  for (const t of x.unknownTables) warnings.push(`unknown table ${t.name} (${t.rows} rows: ${t.attributes.join(', ')}) ignored`);
  return { source: 'xml', depts, users, groups, warnings };
}

export class XmlDirectory implements DirectoryPort {
  readonly name = 'xml' as const;
  private cache: { key: string; org: OrgData } | null = null;
  private watching: ((cur: Stats, prev: Stats) => void) | null = null;

  constructor(readonly file: string) {}

  async readOrg(): Promise<OrgData> {
    let st: Stats;
    try {
      st = await stat(this.file);
    } catch (e) {
      throw new RtxPortError('UNREACHABLE', `the export XML ${this.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const key = `${st.size}:${st.mtimeMs}`;
    if (this.cache?.key === key) return this.cache.org;
    let x: RtxExport;
    try {
      x = await readRtxExport(createReadStream(this.file));
    } catch (e) {
      if (e instanceof RtxXmlError) throw new RtxPortError('BAD_ANSWER', `the export XML ${this.file} is not a usable RTX export: ${e.message}`);
      throw new RtxPortError('UNREACHABLE', `the export XML ${this.file} cannot be read (${(e as Error).message})`);
    }
    const org = orgFromExport(x);
    this.cache = { key, org };
    return org;
  }

  /** Calls fn when the file's size or modification time changes (until unwatch()). */
  watch(fn: () => void, intervalMs = XML_WATCH_INTERVAL_MS): void {
    this.unwatch();
    this.watching = (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) fn();
    };
    watchFile(this.file, { interval: intervalMs, persistent: false }, this.watching);
  }

  unwatch(): void {
    if (this.watching) unwatchFile(this.file, this.watching);
    this.watching = null;
  }
}
