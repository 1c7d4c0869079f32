import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The outbound guard for requests the gateway makes on an app's behalf
 * (callbacks, docs/apps-callbacks.md "Outbound guard"). The host is resolved
 * once, every address is checked, and the request is then made to the checked
 * address (so a second resolution cannot swap it for another). Refused:
 * link-local (169.254.0.0/16, fe80::/10), the cloud metadata addresses
 * (169.254.169.254, fd00:ec2::254, 100.100.100.200), unspecified, multicast
 * and broadcast. Loopback and private ranges are allowed by default because
 * the appliance and the apps it serves live in intranets; `refusePrivate`
 * refuses them too.
 */

/** Resolves a host name to its addresses (injected in tests). */
export type HostResolver = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export const systemResolver: HostResolver = async (host) => {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export class OutboundRefused extends Error {}

const refused = new BlockList();
refused.addSubnet('169.254.0.0', 16, 'ipv4');
refused.addAddress('100.100.100.200', 'ipv4');
refused.addSubnet('0.0.0.0', 8, 'ipv4');
refused.addSubnet('224.0.0.0', 4, 'ipv4');
refused.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, and 255.255.255.255 (broadcast)
refused.addSubnet('fe80::', 10, 'ipv6');
refused.addAddress('fd00:ec2::254', 'ipv6');
refused.addAddress('::', 'ipv6');
refused.addSubnet('ff00::', 8, 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

/** An IPv4 address written inside IPv6 (::ffff:a.b.c.d), as its IPv4 form; otherwise the address. */
function unmap(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why an address is refused, or null when it may be contacted. */
export function refusalOf(address: string, opts: { refusePrivate?: boolean } = {}): string | null {
  if (isIP(address) === 0) return `${address} is not an IP address`;
  const a = unmap(address);
  if (refused.check(a.address, a.family)) return `${address} is a link-local, metadata, unspecified, multicast or broadcast address`;
  if (opts.refusePrivate && privateRanges.check(a.address, a.family)) return `${address} is a loopback or private address`;
  return null;
}

/** The host of a URL without IPv6 brackets. */
export function urlHost(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/**
 * The address to connect to for this URL's host, after checking every address
 * it resolves to (one refused address refuses the host: round-robin DNS could
 * otherwise hand it out later). Throws OutboundRefused.
 */
export async function vetHost(u: URL, resolve: HostResolver, opts: { refusePrivate?: boolean } = {}): Promise<{ address: string; family: 4 | 6 }> {
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OutboundRefused(`${u.protocol} URLs are not fetched`);
  const host = urlHost(u);
  const literal = isIP(host);
  const addresses = literal ? [{ address: host, family: literal as 4 | 6 }] : await resolve(host).catch((e: unknown) => {
    throw new OutboundRefused(`${host} does not resolve (${(e as { code?: string }).code ?? 'error'})`);
  });
  if (addresses.length === 0) throw new OutboundRefused(`${host} does not resolve`);
  for (const a of addresses) {
    const why = refusalOf(a.address, opts);
    if (why) throw new OutboundRefused(literal ? why : `${host} resolves to ${why}`);
  }
  return addresses[0] as { address: string; family: 4 | 6 };
}

/** Checks a URL an administrator saves, without resolving it: literal addresses only. Null when fine. */
export function staticRefusal(url: string, opts: { refusePrivate?: boolean } = {}): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  const host = urlHost(u);
  return isIP(host) ? refusalOf(host, opts) : null;
}
