/**
 * LDAP string handling that must be exact: escaping values put into search
 * filters (RFC 4515) and DNs (RFC 4514), and parsing DNs back into their
 * relative names, so the OU tree can be rebuilt from the DNs the server
 * returns and so DNs compare case- and spacing-insensitively.
 */

/**
 * Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\`
 * and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`. Everything else, including
 * non-ASCII text, passes through as UTF-8. After this, the value can only ever
 * match itself: `*)(uid=*` is a literal nine-character string.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*': out += '\\2a'; break;
      case '(': out += '\\28'; break;
      case ')': out += '\\29'; break;
      case '\\': out += '\\5c'; break;
      case '\0': out += '\\00'; break;
      default: out += ch;
    }
  }
  return out;
}

/**
 * Escapes an attribute value for use inside a DN (RFC 4514 §2.4): `"`, `+`,
 * `,`, `;`, `<`, `>`, `\` and `=` are backslash-escaped; a leading space or
 * `#` and a trailing space are escaped; NUL becomes `\00`.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    if (ch === '\0') out += '\\00';
    else if ('"+,;<>\\='.includes(ch)) out += '\\' + ch;
    else if (i === 0 && (ch === ' ' || ch === '#')) out += '\\' + ch;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

export interface Rdn {
  /** Attribute type as written (e.g. `ou`, `CN`). */
  type: string;
  /** Unescaped value. */
  value: string;
}

export class DnSyntaxError extends Error {
  constructor(readonly dn: string, why: string) {
    super(`not a valid DN (${why})`);
    this.name = 'DnSyntaxError';
  }
}

const HEX2 = /^[0-9a-fA-F]{2}$/;

/**
 * Parses a DN string into its RDNs, most specific first. Multi-valued RDNs
 * (`cn=a+sn=b`) are returned as their first component only for naming and
 * kept whole for comparison by `normalizeDn`. Throws DnSyntaxError on
 * malformed input (unterminated escape, a component without `=`).
 */
export function parseDn(dn: string): Rdn[][] {
  const rdns: Rdn[][] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let current: Rdn[] = [];
  while (i <= dn.length) {
    // attribute type
    let type = '';
    while (i < dn.length && dn[i] !== '=') {
      if (dn[i] === ',' || dn[i] === '+') throw new DnSyntaxError(dn, 'a component has no "="');
      type += dn[i];
      i++;
    }
    if (i >= dn.length) throw new DnSyntaxError(dn, 'a component has no "="');
    type = type.trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) throw new DnSyntaxError(dn, `bad attribute type "${type}"`);
    i++; // '='
    while (i < dn.length && dn[i] === ' ') i++;
    // value: bytes so that \XX sequences decode as UTF-8 together
    const bytes: number[] = [];
    let trailingSpaces = 0;
    if (dn[i] === '#') {
      let raw = '';
      while (i < dn.length && dn[i] !== ',' && dn[i] !== '+') raw += dn[i++];
      bytes.push(...Buffer.from(raw.trim(), 'utf8'));
    } else {
      while (i < dn.length && dn[i] !== ',' && dn[i] !== '+') {
        const ch = dn[i] as string;
        if (ch === '\\') {
          const next = dn.slice(i + 1, i + 3);
          if (HEX2.test(next)) {
            bytes.push(parseInt(next, 16));
            i += 3;
          } else if (i + 1 < dn.length) {
            const esc = dn.codePointAt(i + 1) as number;
            const s = String.fromCodePoint(esc);
            bytes.push(...Buffer.from(s, 'utf8'));
            i += 1 + s.length;
          } else {
            throw new DnSyntaxError(dn, 'unterminated escape');
          }
          trailingSpaces = 0;
          continue;
        }
        const s = String.fromCodePoint(dn.codePointAt(i) as number);
        bytes.push(...Buffer.from(s, 'utf8'));
        trailingSpaces = ch === ' ' ? trailingSpaces + 1 : 0;
        i += s.length;
      }
      // unescaped trailing spaces are not part of the value
      if (trailingSpaces) bytes.splice(bytes.length - trailingSpaces, trailingSpaces);
    }
    current.push({ type, value: Buffer.from(bytes).toString('utf8') });
    if (i >= dn.length) {
      rdns.push(current);
      break;
    }
    if (dn[i] === ',') {
      rdns.push(current);
      current = [];
    }
    i++;
    while (i < dn.length && dn[i] === ' ') i++;
    if (i >= dn.length) throw new DnSyntaxError(dn, 'ends with a separator');
  }
  return rdns;
}

const normRdn = (rdn: Rdn[]) =>
  rdn
    .map((a) => `${a.type.toLowerCase()}=${escapeDnValue(a.value.toLowerCase().replace(/\s+/g, ' ').trim())}`)
    .sort()
    .join('+');

/** A canonical form for comparing DNs: types and values lower-cased, spacing normalised, escapes canonical. */
export function normalizeDn(dn: string): string {
  return parseDn(dn).map(normRdn).join(',');
}

/** The normalised DN of the parent entry, or null for a single-RDN DN. */
export function parentDnKey(dn: string): string | null {
  const rdns = parseDn(dn);
  if (rdns.length <= 1) return null;
  return rdns.slice(1).map(normRdn).join(',');
}

/** The naming value of a DN's first RDN (the OU's display name for `ou=Sales,dc=x`). */
export function rdnValue(dn: string): string {
  return parseDn(dn)[0]?.[0]?.value ?? '';
}

/** True when `dnKey` (normalised) is `baseKey` or below it. */
export function isAtOrUnder(dnKey: string, baseKey: string): boolean {
  return dnKey === baseKey || dnKey.endsWith(',' + baseKey);
}
