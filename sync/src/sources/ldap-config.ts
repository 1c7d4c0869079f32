import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { FilterParser } from 'ldapts';
import { DnSyntaxError, parseDn } from './ldap-escape.js';

/** Attribute names, one or several in priority order (the first with a value wins). */
const Attr = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 4 })]);

/**
 * What an administrator configures for one LDAP / Active Directory source
 * (docs/sync-ldap.md). `bindPassword` is a secret: the engine stores the whole
 * config encrypted at rest and never shows it back.
 */
export const LdapConfigSchema = Type.Object(
  {
    url: Type.String({ pattern: '^ldaps?://', maxLength: 512, description: 'ldap://host[:389] or ldaps://host[:636]' }),
    flavour: Type.Union([Type.Literal('openldap'), Type.Literal('ad')], { default: 'openldap', description: 'Which attribute preset and change cursor to use' }),
    startTls: Type.Boolean({ default: false, description: 'Upgrade an ldap:// connection with StartTLS before binding' }),
    caPem: Type.Optional(Type.String({ maxLength: 65536, description: 'PEM CA certificate(s) trusted for ldaps/StartTLS, in addition to none (the system store is not used when set)' })),
    rejectUnauthorized: Type.Boolean({ default: true, description: 'Refuse a server certificate that does not verify (turn off only to diagnose)' }),
    bindDn: Type.String({ minLength: 1, maxLength: 1024, description: 'Service account DN (AD also accepts user@REALM)' }),
    bindPassword: Type.String({ minLength: 1, maxLength: 1024, description: 'Service account password (secret)' }),
    baseDn: Type.String({ minLength: 1, maxLength: 1024, description: 'Where users are searched' }),
    userFilter: Type.Optional(Type.String({ maxLength: 4096, description: 'LDAP filter selecting users (preset per flavour)' })),
    deptMode: Type.Union([Type.Literal('ou'), Type.Literal('attribute')], { default: 'ou', description: 'Departments from the OU tree, or from a user attribute' }),
    deptBaseDn: Type.Optional(Type.String({ maxLength: 1024, description: 'Top of the OU tree (default: baseDn); OUs directly under it are top-level departments' })),
    deptFilter: Type.Optional(Type.String({ maxLength: 4096, description: 'Which entries are departments in ou mode (default (objectClass=organizationalUnit))' })),
    deptAttribute: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'In attribute mode: the attribute holding the department (preset: department / departmentNumber)' })),
    deptPathSeparator: Type.String({ default: '/', maxLength: 4, description: 'In attribute mode: separator of a department path ("Sales/East"); empty = no hierarchy' }),
    attributes: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          account: Type.Optional(Attr),
          name: Type.Optional(Attr),
          email: Type.Optional(Attr),
          mobile: Type.Optional(Attr),
          phone: Type.Optional(Attr),
          title: Type.Optional(Attr),
        },
        { additionalProperties: false, description: 'Overrides of the flavour preset' },
      ),
    ),
    disabledFilter: Type.Optional(Type.String({ maxLength: 4096, description: 'Users matching this filter are disabled too (in addition to the flavour rule)' })),
    cursorAttribute: Type.Optional(Type.Union([Type.Literal('modifyTimestamp'), Type.Literal('entryCSN'), Type.Literal('uSNChanged')])),
    pageSize: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'Paged-results page size; keep it at or below the server size limit (AD MaxPageSize is 1000)' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000, description: 'Per operation' }),
    reconcileHours: Type.Optional(Type.Number({ minimum: 0, maximum: 8760, description: 'Read in full (catching deletions) at least this often; between, runs read deltas. Default 24; 0 = always full' })),
  },
  { additionalProperties: false },
);

export type LdapConfigInput = Static<typeof LdapConfigSchema>;

export interface AttributeMap {
  id: string;
  account: string[];
  name: string[];
  email: string[];
  mobile: string[];
  phone: string[];
  title: string[];
}

/** The config with presets applied and everything checked; frozen. */
export interface LdapConfig {
  url: string;
  protocol: 'ldap' | 'ldaps';
  host: string;
  port: number;
  flavour: 'openldap' | 'ad';
  startTls: boolean;
  caPem: string | null;
  rejectUnauthorized: boolean;
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  userFilter: string;
  deptMode: 'ou' | 'attribute';
  deptBaseDn: string;
  deptFilter: string;
  deptAttribute: string;
  deptPathSeparator: string;
  attributes: AttributeMap;
  disabledFilter: string | null;
  cursorAttribute: 'modifyTimestamp' | 'entryCSN' | 'uSNChanged';
  pageSize: number;
  connectTimeoutMs: number;
  timeoutMs: number;
}

export interface Preset {
  userFilter: string;
  attributes: AttributeMap;
  deptAttribute: string;
  cursorAttribute: LdapConfig['cursorAttribute'];
}

/** Sensible defaults per directory product. */
export const PRESETS: Readonly<Record<LdapConfig['flavour'], Preset>> = Object.freeze({
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    attributes: { id: 'entryUUID', account: ['uid'], name: ['displayName', 'cn'], email: ['mail'], mobile: ['mobile'], phone: ['telephoneNumber'], title: ['title'] },
    deptAttribute: 'departmentNumber',
    // unique per change (microseconds + counter), unlike modifyTimestamp's whole seconds
    cursorAttribute: 'entryCSN',
  },
  ad: {
    // person users, not computers (computer objects are objectClass=user too)
    userFilter: '(&(objectCategory=person)(objectClass=user))',
    attributes: { id: 'objectGUID', account: ['sAMAccountName'], name: ['displayName', 'cn'], email: ['mail'], mobile: ['mobile'], phone: ['telephoneNumber'], title: ['title'] },
    deptAttribute: 'department',
    cursorAttribute: 'uSNChanged',
  },
});

export class LdapConfigError extends Error {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.name = 'LdapConfigError';
  }
}

const list = (v: string | string[] | undefined, def: string[]) => (v === undefined ? def : Array.isArray(v) ? v : [v]);

function checkFilter(key: string, filter: string): string {
  const f = filter.trim();
  if (!f.startsWith('(')) throw new LdapConfigError(key, 'an LDAP filter must be in parentheses, e.g. (objectClass=person)');
  // values must escape parentheses (\28, \29), so every literal one is structure and must balance
  let depth = 0;
  for (const ch of f) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) throw new LdapConfigError(key, 'unbalanced parentheses');
  try {
    FilterParser.parseString(f);
  } catch (e) {
    throw new LdapConfigError(key, `not a valid LDAP filter (${(e as Error).message})`);
  }
  return f;
}

function checkDn(key: string, dn: string): string {
  try {
    if (parseDn(dn).length === 0) throw new DnSyntaxError(dn, 'empty');
  } catch (e) {
    throw new LdapConfigError(key, (e as Error).message);
  }
  return dn.trim();
}

/**
 * Validates an administrator's config and applies the flavour preset. Throws
 * LdapConfigError naming the key and the problem; never echoes the password.
 */
export function parseLdapConfig(input: unknown): Readonly<LdapConfig> {
  return resolve(withDefaults(input));
}

/** The administrator's config with defaults filled in, checked as parseLdapConfig does: what gets stored. */
export function normalizeLdapConfigInput(input: unknown): LdapConfigInput {
  const raw = withDefaults(input);
  resolve(raw);
  return raw as LdapConfigInput;
}

const withDefaults = (input: unknown): unknown => Value.Default(LdapConfigSchema, structuredClone(input ?? {}));

function resolve(raw: unknown): Readonly<LdapConfig> {
  if (!Value.Check(LdapConfigSchema, raw)) {
    const err = [...Value.Errors(LdapConfigSchema, raw)][0];
    const key = (err?.path ?? '').replace(/^\//, '').replace(/\//g, '.') || '(config)';
    throw new LdapConfigError(key, key === 'bindPassword' ? 'is required (1–1024 characters)' : (err?.message ?? 'invalid'));
  }
  const c = raw as LdapConfigInput;
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    throw new LdapConfigError('url', 'not a valid URL (ldap://host:389 or ldaps://host:636)');
  }
  const protocol = u.protocol === 'ldaps:' ? 'ldaps' : 'ldap';
  if (!u.hostname) throw new LdapConfigError('url', 'has no host');
  if ((u.pathname && u.pathname !== '/') || u.search || u.username) throw new LdapConfigError('url', 'must be only ldap[s]://host[:port] (set the base DN separately)');
  if (protocol === 'ldaps' && c.startTls) throw new LdapConfigError('startTls', 'StartTLS applies to ldap:// only; ldaps:// is already encrypted');
  if (c.caPem !== undefined && c.caPem.trim() !== '' && !c.caPem.includes('-----BEGIN CERTIFICATE-----')) throw new LdapConfigError('caPem', 'must be PEM text starting with -----BEGIN CERTIFICATE-----');
  const preset = PRESETS[c.flavour];
  const a = c.attributes ?? {};
  const cfg: LdapConfig = {
    url: `${protocol}://${u.host}`,
    protocol,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : protocol === 'ldaps' ? 636 : 389,
    flavour: c.flavour,
    startTls: c.startTls,
    caPem: c.caPem?.trim() ? c.caPem : null,
    rejectUnauthorized: c.rejectUnauthorized,
    bindDn: c.bindDn.trim(),
    bindPassword: c.bindPassword,
    baseDn: checkDn('baseDn', c.baseDn),
    userFilter: checkFilter('userFilter', c.userFilter?.trim() || preset.userFilter),
    deptMode: c.deptMode,
    deptBaseDn: c.deptBaseDn?.trim() ? checkDn('deptBaseDn', c.deptBaseDn) : c.baseDn.trim(),
    deptFilter: checkFilter('deptFilter', c.deptFilter?.trim() || '(objectClass=organizationalUnit)'),
    deptAttribute: c.deptAttribute ?? preset.deptAttribute,
    deptPathSeparator: c.deptPathSeparator,
    attributes: {
      id: a.id ?? preset.attributes.id,
      account: list(a.account, preset.attributes.account),
      name: list(a.name, preset.attributes.name),
      email: list(a.email, preset.attributes.email),
      mobile: list(a.mobile, preset.attributes.mobile),
      phone: list(a.phone, preset.attributes.phone),
      title: list(a.title, preset.attributes.title),
    },
    disabledFilter: c.disabledFilter?.trim() ? checkFilter('disabledFilter', c.disabledFilter) : null,
    cursorAttribute: c.cursorAttribute ?? preset.cursorAttribute,
    pageSize: c.pageSize,
    connectTimeoutMs: c.connectTimeoutMs,
    timeoutMs: c.timeoutMs,
  };
  if (cfg.flavour === 'ad' && cfg.cursorAttribute !== 'uSNChanged') throw new LdapConfigError('cursorAttribute', 'Active Directory changes are tracked with uSNChanged');
  if (cfg.flavour === 'openldap' && cfg.cursorAttribute === 'uSNChanged') throw new LdapConfigError('cursorAttribute', 'OpenLDAP changes are tracked with modifyTimestamp or entryCSN');
  for (const [k, v] of Object.entries(cfg.attributes)) {
    for (const name of Array.isArray(v) ? v : [v]) if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new LdapConfigError(`attributes.${k}`, `"${name}" is not an attribute name`);
  }
  return Object.freeze(cfg);
}
