/**
 * The LDAP source's config (sync/src/sources/ldap-config.ts) as the form
 * edits it. The presets mirror the server's PRESETS so the form can show
 * and fill them; empty fields are left out and the server applies its preset.
 */
export type Flavour = 'openldap' | 'ad';
export const ATTR_KEYS = ['id', 'account', 'name', 'email', 'mobile', 'phone', 'title'] as const;
export type AttrKey = (typeof ATTR_KEYS)[number];

export const LDAP_PRESETS: Record<Flavour, { userFilter: string; deptAttribute: string; attributes: Record<AttrKey, string> }> = {
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    deptAttribute: 'departmentNumber',
    attributes: { id: 'entryUUID', account: 'uid', name: 'displayName, cn', email: 'mail', mobile: 'mobile', phone: 'telephoneNumber', title: 'title' },
  },
  ad: {
    userFilter: '(&(objectCategory=person)(objectClass=user))',
    deptAttribute: 'department',
    attributes: { id: 'objectGUID', account: 'sAMAccountName', name: 'displayName, cn', email: 'mail', mobile: 'mobile', phone: 'telephoneNumber', title: 'title' },
  },
};

/** The form's LDAP section: attribute lists as comma-separated text. */
export interface LdapForm {
  url: string;
  flavour: Flavour;
  startTls: boolean;
  caPem: string;
  bindDn: string;
  baseDn: string;
  userFilter: string;
  deptMode: 'ou' | 'attribute';
  deptBaseDn: string;
  deptAttribute: string;
  deptPathSeparator: string;
  attributes: Record<AttrKey, string>;
  disabledFilter: string;
  pageSize: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const attrText = (v: unknown): string => (Array.isArray(v) ? v.filter((x) => typeof x === 'string').join(', ') : str(v));

export function ldapFormOf(config: Record<string, unknown> | undefined): LdapForm {
  const c = config ?? {};
  const a = (c.attributes && typeof c.attributes === 'object' ? c.attributes : {}) as Record<string, unknown>;
  return {
    url: str(c.url),
    flavour: c.flavour === 'ad' ? 'ad' : 'openldap',
    startTls: c.startTls === true,
    caPem: str(c.caPem),
    bindDn: str(c.bindDn),
    baseDn: str(c.baseDn),
    userFilter: str(c.userFilter),
    deptMode: c.deptMode === 'attribute' ? 'attribute' : 'ou',
    deptBaseDn: str(c.deptBaseDn),
    deptAttribute: str(c.deptAttribute),
    deptPathSeparator: typeof c.deptPathSeparator === 'string' ? c.deptPathSeparator : '/',
    attributes: Object.fromEntries(ATTR_KEYS.map((k) => [k, attrText(a[k])])) as Record<AttrKey, string>,
    disabledFilter: str(c.disabledFilter),
    pageSize: typeof c.pageSize === 'number' ? c.pageSize : 500,
  };
}

/**
 * The config to send: the stored one (keys the form does not edit, such as
 * timeouts, are kept) with the form's values over it; empty optional fields
 * are removed so the preset applies. Secrets are added by the caller.
 */
export function ldapConfigOf(f: LdapForm, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(stored ?? {}) };
  const set = (k: string, v: string | undefined) => {
    if (!v?.trim()) delete out[k];
    else out[k] = v.trim();
  };
  out.url = f.url.trim();
  out.flavour = f.flavour;
  out.startTls = f.startTls;
  if (!f.caPem?.trim()) delete out.caPem;
  else out.caPem = f.caPem;
  out.bindDn = f.bindDn.trim();
  out.baseDn = f.baseDn.trim();
  set('userFilter', f.userFilter);
  out.deptMode = f.deptMode;
  set('deptBaseDn', f.deptBaseDn);
  set('deptAttribute', f.deptAttribute);
  out.deptPathSeparator = f.deptPathSeparator;
  const attributes: Record<string, string | string[]> = {};
  for (const k of ATTR_KEYS) {
    const names = (f.attributes?.[k] ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (names.length === 0) continue;
    attributes[k] = k === 'id' ? names[0]! : names;
  }
  if (Object.keys(attributes).length > 0) out.attributes = attributes;
  else delete out.attributes;
  set('disabledFilter', f.disabledFilter);
  out.pageSize = f.pageSize;
  // the cursor attribute follows the flavour; a stale one from the other flavour is refused by the server
  if (out.flavour === 'ad' && out.cursorAttribute !== undefined && out.cursorAttribute !== 'uSNChanged') delete out.cursorAttribute;
  if (out.flavour === 'openldap' && out.cursorAttribute === 'uSNChanged') delete out.cursorAttribute;
  return out;
}
