import type { Client, Entry } from 'ldapts';
import type { Delta, DirectorySource, ReadOptions, Snapshot, SourceDept, SourceUser } from '../source.js';
import { LdapPasswordAuthority } from './ldap-auth.js';
import { checkLdapConnection, type LdapConnectionCheck } from './ldap-check.js';
import { classifyError, close, serviceClient } from './ldap-client.js';
import { parseLdapConfig, type LdapConfig } from './ldap-config.js';
import { BINARY_ATTRIBUTES, first, idValue, values } from './ldap-entry.js';
import { escapeFilterValue, isAtOrUnder, normalizeDn, parentDnKey, rdnValue } from './ldap-escape.js';

export { LdapPasswordAuthority, LdapUnavailableError } from './ldap-auth.js';
export type { LdapCheckCode, LdapCheckStep, LdapConnectionCheck } from './ldap-check.js';
export { parseLdapConfig, normalizeLdapConfigInput, PRESETS, LdapConfigSchema, LdapConfigError, type LdapConfig, type LdapConfigInput } from './ldap-config.js';
export { escapeDnValue, escapeFilterValue } from './ldap-escape.js';

/** The origin prefix of everything an LDAP source owns: `ldap:<source id>`. */
export const LDAP_ORIGIN_PREFIX = 'ldap:';

/** AD userAccountControl flag ACCOUNTDISABLE. */
const UAC_ACCOUNTDISABLE = 0x2;

/** A read failed; `kind` says what an administrator can act on, `message` is safe to show. */
export class LdapReadError extends Error {
  constructor(readonly kind: ReturnType<typeof classifyError> | 'size-limit' | 'aborted', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LdapReadError';
  }
}

/** What the last read saw, for the sync run's report. */
export interface LdapReadStats {
  mode: 'snapshot' | 'delta';
  depts: number;
  users: number;
  /** Entries that matched the user filter but had no id or no account attribute. */
  skipped: number;
  pages: number;
  ms: number;
}

interface DeptNode {
  externalId: string;
  name: string;
  /** Normalised DN of the parent entry (may not be a department). */
  parentKey: string | null;
  changed: boolean;
}

/** A parsed cursor: which attribute, and the value a delta filters with `>=`. */
interface Cursor {
  attr: LdapConfig['cursorAttribute'];
  value: string;
}

const CURSOR_RE = /^(modifyTimestamp|entryCSN|uSNChanged):([0-9A-Za-z.#+:-]{1,80})$/;

function parseCursor(s: string | null | undefined): Cursor | null {
  const m = s ? CURSOR_RE.exec(s) : null;
  return m ? { attr: m[1] as Cursor['attr'], value: m[2] as string } : null;
}

/** Orders two cursor values of the same attribute. */
function later(attr: Cursor['attr'], a: string | null, b: string): string {
  if (a === null) return b;
  if (attr === 'uSNChanged') return BigInt(b) > BigInt(a) ? b : a;
  return b > a ? b : a;
}

/**
 * An LDAP / Active Directory directory source (docs/sync-ldap.md). Each read
 * opens its own connection as the service account, pages through the OU tree
 * and the users (page size ≤ the server's size limit), and turns entries into
 * SourceDept/SourceUser as each page arrives, so raw entries never accumulate.
 * Departments and users are identified by entryUUID (OpenLDAP) or objectGUID
 * as hex (AD), which survive renames and moves.
 *
 * `read()` may reject with LdapReadError; it never writes to the directory.
 */
export class LdapSource implements DirectorySource {
  readonly origin: string;
  readonly config: Readonly<LdapConfig>;
  lastReadStats: LdapReadStats | null = null;

  /** `config`: an LdapConfigInput (validated here; throws LdapConfigError) or a parsed LdapConfig. */
  constructor(id: string | number, config: unknown, origin = `${LDAP_ORIGIN_PREFIX}${id}`) {
    this.origin = origin;
    this.config = isResolved(config) ? config : parseLdapConfig(config);
  }

  /** The directory-password checker for users of this source. */
  passwordAuthority(): LdapPasswordAuthority {
    return new LdapPasswordAuthority(this.config);
  }

  testConnection(): Promise<LdapConnectionCheck> {
    return checkLdapConnection(this.config);
  }

  async read(opts: ReadOptions = {}): Promise<Snapshot | Delta> {
    const started = Date.now();
    const cfg = this.config;
    const since = parseCursor(opts.sinceCursor);
    const delta = since !== null && since.attr === cfg.cursorAttribute ? since : null;
    const stats: LdapReadStats = { mode: delta ? 'delta' : 'snapshot', depts: 0, users: 0, skipped: 0, pages: 0, ms: 0 };
    const checkAbort = () => {
      if (opts.signal?.aborted) throw new LdapReadError('aborted', 'the read was cancelled');
    };
    checkAbort();
    let client: Client;
    try {
      client = await serviceClient(cfg);
    } catch (e) {
      throw wrap(e);
    }
    try {
      // AD: the highest committed USN *before* reading is a safe next cursor (changes made while
      // we read are re-read next time); OpenLDAP has no such counter, so the highest value seen is used.
      let cursorValue: string | null = null;
      if (cfg.cursorAttribute === 'uSNChanged') {
        const root = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN'] });
        const hc = root.searchEntries[0] ? first(root.searchEntries[0], ['highestCommittedUSN']) : undefined;
        if (hc && /^\d+$/.test(hc)) cursorValue = (BigInt(hc) + 1n).toString();
      }
      let maxSeen: string | null = null;
      const seen = (entry: Entry) => {
        const v = first(entry, [cfg.cursorAttribute]);
        if (v) maxSeen = later(cfg.cursorAttribute, maxSeen, cfg.cursorAttribute === 'uSNChanged' ? (BigInt(v) + 1n).toString() : v);
      };
      const changedSince = delta ? `(${cfg.cursorAttribute}>=${escapeFilterValue(delta.value)})` : '';
      // entryCSNs are unique per change, so the entry whose CSN *is* the cursor was read last time;
      // modifyTimestamp has one-second resolution, so its boundary second is read again (harmless)
      const isChanged = (entry: Entry) => {
        if (!delta) return true;
        const v = first(entry, [cfg.cursorAttribute]);
        if (!v) return true;
        if (cfg.cursorAttribute === 'uSNChanged') return BigInt(v) >= BigInt(delta.value);
        return cfg.cursorAttribute === 'entryCSN' ? v > delta.value : v >= delta.value;
      };
      const page = async function* (base: string, filter: string, attributes: string[]) {
        try {
          for await (const res of client.searchPaginated(base, {
            scope: 'sub', filter, attributes,
            explicitBufferAttributes: BINARY_ATTRIBUTES.filter((b) => attributes.includes(b)),
            paged: { pageSize: cfg.pageSize },
          })) {
            stats.pages += 1;
            checkAbort();
            yield res.searchEntries;
          }
        } catch (e) {
          throw wrap(e);
        }
      };

      // ---- departments: the whole OU tree even for a delta (it is small), to place users ----
      const depts = new Map<string, DeptNode>();
      const deptBaseKey = normalizeDn(cfg.deptBaseDn);
      if (cfg.deptMode === 'ou') {
        for await (const entries of page(cfg.deptBaseDn, cfg.deptFilter, [cfg.attributes.id, 'ou', cfg.cursorAttribute])) {
          for (const e of entries) {
            const key = normalizeDn(e.dn);
            if (key === deptBaseKey) continue; // the top itself is the root, not a department
            const id = idValue(e, cfg.attributes.id);
            if (!id) continue;
            seen(e);
            depts.set(key, { externalId: id, name: rdnValue(e.dn) || first(e, ['ou']) || id, parentKey: parentDnKey(e.dn), changed: isChanged(e) });
          }
          opts.onProgress?.({ phase: 'depts', done: depts.size });
        }
      }
      /** The nearest ancestor (from `key`, inclusive) that is a department. */
      const deptAtOrAbove = (key: string | null): DeptNode | null => {
        for (let k = key; k !== null && isAtOrUnder(k, deptBaseKey) && k !== deptBaseKey; k = parentDnKey(k)) {
          const d = depts.get(k);
          if (d) return d;
        }
        return null;
      };
      const outDepts: SourceDept[] = [];
      for (const d of depts.values()) {
        if (!d.changed) continue;
        outDepts.push({ externalId: d.externalId, parentExternalId: deptAtOrAbove(d.parentKey)?.externalId ?? null, name: d.name });
      }

      // ---- disabled by the configurable filter: a set of DNs, only the disabled ones travel ----
      const disabledDns = new Set<string>();
      if (cfg.disabledFilter) {
        for await (const entries of page(cfg.baseDn, `(&${cfg.userFilter}${cfg.disabledFilter}${changedSince})`, ['1.1'])) {
          for (const e of entries) disabledDns.add(normalizeDn(e.dn));
        }
      }

      // ---- users, page by page ----
      const a = cfg.attributes;
      const wanted = new Set<string>([a.id, ...a.account, ...a.name, ...a.email, ...a.mobile, ...a.phone, ...a.title, cfg.cursorAttribute]);
      if (cfg.deptMode === 'attribute') wanted.add(cfg.deptAttribute);
      if (cfg.flavour === 'ad') wanted.add('userAccountControl');
      else for (const x of ['nsAccountLock', 'pwdAccountLockedTime']) wanted.add(x);
      const attrDepts = new Map<string, SourceDept>();
      const users: SourceUser[] = [];
      for await (const entries of page(cfg.baseDn, changedSince ? `(&${cfg.userFilter}${changedSince})` : cfg.userFilter, [...wanted])) {
        for (const e of entries) {
          seen(e);
          if (!isChanged(e)) continue;
          const id = idValue(e, a.id);
          const account = first(e, a.account);
          if (!id || !account) {
            stats.skipped += 1;
            continue;
          }
          const key = normalizeDn(e.dn);
          let deptIds: string[] = [];
          if (cfg.deptMode === 'ou') {
            const d = deptAtOrAbove(parentDnKey(key));
            if (d) deptIds = [d.externalId];
          } else {
            deptIds = attributeDepts(values(e, cfg.deptAttribute), cfg.deptPathSeparator, attrDepts);
          }
          const u: SourceUser = {
            externalId: id,
            account,
            name: first(e, a.name) ?? account,
            deptExternalIds: deptIds,
            disabled: isDisabled(cfg, e) || disabledDns.has(key),
            loginDn: e.dn,
          };
          const email = first(e, a.email);
          const mobile = first(e, a.mobile);
          const phone = first(e, a.phone);
          const title = first(e, a.title);
          if (email) u.email = email;
          if (mobile) u.mobile = mobile;
          if (phone) u.phone = phone;
          if (title) u.title = title;
          users.push(u);
        }
        opts.onProgress?.({ phase: 'users', done: users.length });
      }
      if (cfg.deptMode === 'attribute') outDepts.push(...attrDepts.values());

      const cursorAttr = cfg.cursorAttribute;
      const next = cursorValue ?? maxSeen ?? delta?.value ?? null;
      stats.depts = outDepts.length;
      stats.users = users.length;
      stats.ms = Date.now() - started;
      this.lastReadStats = stats;
      const cursor = next === null ? null : `${cursorAttr}:${next}`;
      if (delta && opts.sinceCursor) return { kind: 'delta', sinceCursor: opts.sinceCursor, depts: outDepts, users, cursor };
      return { kind: 'snapshot', depts: outDepts, users, cursor };
    } finally {
      await close(client);
    }
  }
}

function isResolved(c: unknown): c is Readonly<LdapConfig> {
  return typeof c === 'object' && c !== null && Object.isFrozen(c) && 'protocol' in c && 'attributes' in c;
}

/** The flavour's own rule: AD userAccountControl bit 2; OpenLDAP nsAccountLock=true or a pwdAccountLockedTime. */
function isDisabled(cfg: LdapConfig, e: Entry): boolean {
  if (cfg.flavour === 'ad') {
    const uac = Number(first(e, ['userAccountControl']) ?? '0');
    return Number.isFinite(uac) && (uac & UAC_ACCOUNTDISABLE) !== 0;
  }
  if ((first(e, ['nsAccountLock']) ?? '').toLowerCase() === 'true') return true;
  return first(e, ['pwdAccountLockedTime']) !== undefined;
}

/**
 * Departments named by an attribute: each value is a path ("Sales/East" with
 * separator "/"), every prefix becomes a department whose external id is
 * `attr:` + the path, so the same name always maps to the same department.
 */
function attributeDepts(vals: string[], sep: string, acc: Map<string, SourceDept>): string[] {
  const ids: string[] = [];
  for (const v of vals) {
    const parts = (sep ? v.split(sep) : [v]).map((p) => p.trim()).filter(Boolean);
    let parent: string | null = null;
    let path = '';
    for (const p of parts) {
      path = path ? `${path}${sep}${p}` : p;
      const id = `attr:${path}`;
      if (!acc.has(id)) acc.set(id, { externalId: id, parentExternalId: parent, name: p });
      parent = id;
    }
    if (parent && !ids.includes(parent)) ids.push(parent);
  }
  return ids;
}

function wrap(e: unknown): LdapReadError {
  if (e instanceof LdapReadError) return e;
  const kind = classifyError(e);
  const name = (e as { name?: string })?.name ?? '';
  if (name === 'SizeLimitExceededError')
    return new LdapReadError('size-limit', 'the server stopped the paged search at its size limit; lower the page size or raise the limit for the service account (OpenLDAP: size.prtotal)', { cause: e });
  const what: Record<typeof kind, string> = {
    dns: 'the directory host name could not be resolved',
    tcp: 'the directory server could not be reached',
    timeout: 'the directory server did not answer in time',
    tls: 'the TLS connection to the directory failed (certificate or CA)',
    credentials: 'the directory refused the service account bind DN or password',
    'no-such-object': 'the base DN does not exist on the directory server',
    filter: 'a configured LDAP filter is not valid',
    server: `the directory server refused the search${name ? ` (${name.replace(/Error$/, '')})` : ''}`,
  };
  return new LdapReadError(kind, what[kind], { cause: e });
}
