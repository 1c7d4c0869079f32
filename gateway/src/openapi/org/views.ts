import type { DeptRecord, UserRecord } from '../../directory/types.js';
import type { OpenOrgStore } from './store.js';

/** The API's department: the root (0) is the directory's top level. */
export function deptOut(d: DeptRecord, store: OpenOrgStore) {
  return { id: d.id, name: d.name, parentId: d.parentId ?? 0, sortId: d.order, alias: store.alias(d.id) };
}

/** −1 disabled, 0 not authorised (inactive), 1 authorised. */
export function enableStateOf(u: UserRecord): -1 | 0 | 1 {
  if (u.status === 'disabled') return -1;
  return u.authorised ? 1 : 0;
}

/** 0 male, 1 female (the directory's 'unknown' reads as 0). */
export const genderOut = (u: UserRecord): 0 | 1 => (u.gender === 'female' ? 1 : 0);

/**
 * The full user of user/get and user/list: every key always present, arrays
 * always arrays (the Java library dereferences them without checks).
 */
export function userOut(u: UserRecord, store: OpenOrgStore) {
  const extra = store.extra(u.id);
  const details = store.details(u.id);
  return {
    gid: u.id,
    userId: u.account,
    name: u.name,
    gender: genderOut(u),
    mobile: u.mobile,
    phone: u.phone,
    email: u.email,
    dept: u.depts.map((d) => d.deptId as number),
    deptDetail: u.depts.map((d) => {
      const x = details.get(d.deptId);
      return { deptId: d.deptId as number, position: x?.position ?? (d.main ? u.title : ''), weight: x?.weight ?? 0, sortId: x?.sortId ?? 0 };
    }),
    attrs: extra.attrs,
    shortCode: extra.shortCode,
    enableState: enableStateOf(u),
  };
}

export function simpleUserOut(u: UserRecord) {
  return { gid: u.id, userId: u.account, name: u.name, gender: genderOut(u), dept: u.depts.map((d) => d.deptId as number) };
}
