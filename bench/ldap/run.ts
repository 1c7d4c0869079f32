/**
 * LDAP source bench (issue 5): a private slapd seeded with N users (default
 * 50,000), then a full read, 100 changes read as a delta, and a no-change
 * delta. Prints JSON. Targets: full ≤ 60 s and peak RSS ≤ 500 MB; 100
 * changes ≤ 3 s; no-change ≤ 2 s. Usage: node --import tsx bench/ldap/run.ts [users]
 */
import { Attribute, Change } from 'ldapts';
import { LdapSource } from '../../sync/src/sources/ldap.js';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, userDn } from '../../sync/sim/slapd.js';

const users = Number(process.argv[2] ?? 50_000);
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn), fail: (m: string) => { throw new Error(m); }, plan: () => undefined };
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
try {
  const s = await startSlapd(t, { users, sizeLimit: 1000 });
  const src = new LdapSource('bench', { url: s.url, bindDn: SERVICE_DN, bindPassword: SERVICE_PASSWORD, baseDn: BASE_DN, pageSize: 1000 });
  const rssBefore = process.memoryUsage().rss;
  let t0 = Date.now();
  const full = await src.read({});
  const fullMs = Date.now() - t0;
  const peakFull = peakRss;
  const fullPages = src.lastReadStats?.pages;
  const admin = await s.admin();
  for (let n = 1; n <= 100; n++) await admin.modify(userDn(n * 7), new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: [`Bench ${n}`] }) }));
  t0 = Date.now();
  const delta = await src.read({ sinceCursor: full.cursor });
  const deltaMs = Date.now() - t0;
  t0 = Date.now();
  const none = await src.read({ sinceCursor: delta.cursor });
  const noneMs = Date.now() - t0;
  console.log(JSON.stringify({
    users, seedMs: s.timings.seedMs,
    full: { ms: fullMs, users: full.users.length, depts: full.depts.length, pages: fullPages, rssBeforeMb: Math.round(rssBefore / 1e6), peakRssMb: Math.round(peakFull / 1e6) },
    delta100: { ms: deltaMs, users: delta.users.length },
    deltaNoChange: { ms: noneMs, users: none.users.length },
  }, null, 2));
} finally {
  clearInterval(sampler);
  for (const fn of teardowns.reverse()) await fn();
}
