/**
 * The rights an administrator role can carry (F-3.9). The values are stored in
 * `admin_role_rights.right` and sent to the console, so they never change
 * meaning; a new right is a new value. The built-in super-admin role has every
 * right, including rights added later.
 */
export enum Right {
  /** Departments: create, rename, reorder, move, delete. */
  Org = 'org',
  /** Members: create, edit profiles, move, delete, reset passwords. */
  Members = 'members',
  /** Discussion groups. */
  Groups = 'groups',
  /** Authorised and blocked lists, the auto-authorise switch. */
  Authorisation = 'authorisation',
  /** Members' devices: list, force offline, remote wipe. */
  Devices = 'devices',
  /** Enterprise apps and portal templates. */
  Apps = 'apps',
  /** Message audit. */
  Audit = 'audit',
  /** System settings and permissions (limits, broadcast, SMS, file sizes). */
  Settings = 'settings',
  /** Licence import and seats. */
  Licence = 'licence',
  /** Administrator roles and administrator accounts. */
  Admins = 'admins',
  /** Viewing the administrator action log. */
  Logs = 'logs',
}

/** Every right, in display order. */
export const ALL_RIGHTS: readonly Right[] = Object.freeze(Object.values(Right));

export const RIGHT_LABELS: Readonly<Record<Right, { readonly zh: string; readonly en: string }>> = Object.freeze({
  [Right.Org]: { zh: '组织架构管理', en: 'Departments' },
  [Right.Members]: { zh: '成员管理', en: 'Members' },
  [Right.Groups]: { zh: '群组管理', en: 'Groups' },
  [Right.Authorisation]: { zh: '授权管理', en: 'Authorised and blocked lists' },
  [Right.Devices]: { zh: '设备管理', en: 'Devices' },
  [Right.Apps]: { zh: '应用管理', en: 'Apps' },
  [Right.Audit]: { zh: '消息审计', en: 'Message audit' },
  [Right.Settings]: { zh: '系统设置', en: 'Settings' },
  [Right.Licence]: { zh: '许可证管理', en: 'Licence' },
  [Right.Admins]: { zh: '管理员与角色', en: 'Administrators and roles' },
  [Right.Logs]: { zh: '操作日志', en: 'Administrator action log' },
});

const RIGHT_SET: ReadonlySet<string> = new Set(ALL_RIGHTS);

export function isRight(v: unknown): v is Right {
  return typeof v === 'string' && RIGHT_SET.has(v);
}

/** "成员管理 (members)": how messages name a right. */
export function rightName(r: Right): string {
  return `${RIGHT_LABELS[r].zh} (${r})`;
}

/** Sorts rights into display order, without duplicates. */
export function sortRights(rights: Iterable<Right>): Right[] {
  const have = new Set(rights);
  return ALL_RIGHTS.filter((r) => have.has(r));
}
