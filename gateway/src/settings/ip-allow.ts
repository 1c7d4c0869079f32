import net from 'node:net';

/**
 * An IP allow-list written as text: addresses and CIDR blocks separated by commas, semicolons or
 * spaces (`127.0.0.1/8, ::1, 10.0.0.0/24`); `*` allows every address. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.5`) are checked as the IPv4 address they carry.
 */
export interface IpAllowList {
  allows(address: string | null | undefined): boolean;
}

/** Parses an allow-list; throws an Error naming the first bad entry. */
export function parseIpAllowList(text: string): IpAllowList {
  const entries = text.split(/[\s,;]+/).filter((s) => s.length > 0);
  if (entries.includes('*')) return { allows: () => true };
  const list = new net.BlockList();
  for (const e of entries) {
    const slash = e.indexOf('/');
    const addr = slash < 0 ? e : e.slice(0, slash);
    const family = net.isIP(addr);
    if (family === 0) throw new Error(`"${e}" is not an IP address or CIDR block`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(addr, type);
      continue;
    }
    const bits = e.slice(slash + 1);
    const prefix = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`"${e}" has a bad prefix length`);
    list.addSubnet(addr, prefix, type);
  }
  return {
    allows(address) {
      if (!address) return false;
      const a = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
      const family = net.isIP(a);
      if (family === 0) return false;
      return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** A problem with an allow-list text, or null when it parses. */
export function ipAllowListProblem(v: unknown): string | null {
  if (typeof v !== 'string') return 'must be a text of addresses and CIDR blocks';
  try {
    parseIpAllowList(v);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
