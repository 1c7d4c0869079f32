import type { RtxExport } from '../../../rtx-adapter/src/rtx-xml.js';
import type { RtxDept, RtxGroup, RtxUser } from '../protocol/rtx-bridge-v1.js';
import type { OrgSnapshot } from './types.js';

/**
 * An RTX Manager export (docs/protocol/rtx-files.md) as a snapshot, with the
 * same ids the adapter's snapshots carry: departments by DeptID (PDeptID 0 =
 * top level), users by account (UserName) with their departments in file
 * order (the first is the main one), groups by GroupID with member accounts.
 * Groups marked not effective are left out. The reader's warnings and
 * unknown tables are passed on.
 */
export function exportToSnapshot(x: RtxExport): { snapshot: OrgSnapshot; warnings: string[] } {
  const warnings = [...x.warnings];
  for (const t of x.unknownTables) warnings.push(`table ${t.name} (${t.rows} rows) is not read by the import`);
  const depts: RtxDept[] = x.departments.map((d) => ({ id: String(d.id), parentId: d.parentId === 0 ? null : String(d.parentId), name: d.name, order: d.sortId ?? 0 }));
  const deptsOf = new Map<number, string[]>();
  for (const m of x.memberships) {
    let l = deptsOf.get(m.userId);
    if (!l) deptsOf.set(m.userId, (l = []));
    l.push(String(m.deptId));
  }
  const accountOf = new Map<number, string>();
  const users: RtxUser[] = x.users.map((u) => {
    accountOf.set(u.id, u.account);
    return {
      account: u.account, name: u.name, uin: u.id, gender: u.gender === 0 ? 'male' : u.gender === 1 ? 'female' : 'unknown',
      mobile: u.mobile, email: u.email, phone: u.phone, title: u.position ?? '', disabled: u.accountState === 1, deptIds: deptsOf.get(u.id) ?? [],
    };
  });
  const groups: RtxGroup[] = [];
  let notEffective = 0;
  let unknownMembers = 0;
  for (const g of x.groups) {
    if (!g.effective) {
      notEffective += 1;
      continue;
    }
    const members: string[] = [];
    for (const id of g.memberIds) {
      const a = accountOf.get(id);
      if (a !== undefined) members.push(a);
      else unknownMembers += 1;
    }
    groups.push({ id: g.id, name: g.name, members });
  }
  if (unknownMembers > 0) warnings.push(`${unknownMembers} group memberships name a UserID that is not in Sys_User, left out`);
  if (notEffective > 0) warnings.push(`${notEffective} groups marked not effective (IsEffective=0) are left out`);
  return { snapshot: { depts, users, groups }, warnings };
}
