import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';

const run = promisify(execFile);

/**
 * A private OpenLDAP slapd seeded with a deterministic directory: the
 * in-repo directory server of the LDAP tests (test/helpers/slapd.ts
 * re-exports it) and of the benchmarks (bench/sync, bench/ldap), which must
 * not import test helpers. Needs Debian slapd + ldap-utils + openssl.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface TestLike extends Teardown {
  fail(msg: string): unknown;
  plan(n: number, comment?: string): void;
}

function tempDir(t: Teardown, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The executable's path, or null. */
export function findTool(name: string, dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']): string | null {
  for (const d of dirs) {
    try {
      accessSync(path.join(d, name), constants.X_OK);
      return path.join(d, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Tests that need a system package: under CI=true a missing package is a
 * failure (CI installs it, see .ci/run); elsewhere the test is skipped with
 * the reason shown. Returns true when every tool is present.
 */
export function requireTools(t: TestLike, pkg: string, tools: string[]): boolean {
  const missing = tools.filter((x) => !findTool(x));
  if (missing.length === 0) return true;
  const why = `${missing.join(', ')} not installed (Debian package ${pkg}: apt-get install -y ${pkg})`;
  if (process.env.CI === 'true') t.fail(`CI=true but ${why}`);
  else t.plan(0, why);
  return false;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function waitForPort(port: number, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestCa {
  caPem: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  /** A second, unrelated CA: a client trusting only it must refuse the server. */
  otherCaPem: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with openssl per run. */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const f = (n: string) => path.join(dir, n);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ext = f('san.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  await Promise.all([
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Huitong Test CA'),
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'), '-days', '2', '-subj', '/CN=Some Other CA'),
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost'),
  ]);
  await ossl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', ext);
  return { caPem: readFileSync(f('ca.crt'), 'utf8'), otherCaPem: readFileSync(f('other-ca.crt'), 'utf8'), certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt') };
}

export const SUFFIX = 'dc=huitong,dc=test';
export const BASE_DN = `ou=corp,${SUFFIX}`;
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PASSWORD = 'root-secret';
export const SERVICE_DN = `cn=sync,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'sync-secret-1';
/** A named user beside the generated ones, for login tests. */
export const ALICE = { uid: 'alice', password: 'Alice-Secret-1', dn: `uid=alice,ou=研发中心,${BASE_DN}` };

/** Deterministic layout of the seed: 10 divisions × 4 departments × 3 teams; users in teams, every 10th in a department. */
export const TOP = ['研发中心', 'Sales, East', 'Finance', 'HR', 'Operations', 'Legal', 'Marketing', 'Support', 'IT', 'Logistics'] as const;

/** The OU path (top first) of generated user n (1-based). */
export function userOuPath(n: number): string[] {
  const top = TOP[n % 10] as string;
  const dept = `${top}-D${Math.floor(n / 10) % 4}`;
  if (n % 10 === 3) return [top, dept];
  return [top, dept, `${dept}-T${Math.floor(n / 40) % 3}`];
}
export const uidOf = (n: number) => `u${String(n).padStart(5, '0')}`;
export const passwordOf = (n: number) => `pw-${uidOf(n)}`;
/** Every 100th user carries nsAccountLock: TRUE; every 250th has employeeType: inactive (the disabledFilter test). */
export const lockedByAttr = (n: number) => n % 100 === 0;
export const inactiveByType = (n: number) => n % 250 === 125;

const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
const ouDn = (p: string[]) => [...p].reverse().map((x) => `ou=${esc(x)}`).join(',') + ',' + BASE_DN;
export const userDn = (n: number) => `uid=${uidOf(n)},${ouDn(userOuPath(n))}`;

function ssha(pw: string): string {
  const salt = randomBytes(8);
  return '{SSHA}' + Buffer.concat([createHash('sha1').update(pw).update(salt).digest(), salt]).toString('base64');
}

/** An LDIF line, base64 when the value is not plain ASCII (RFC 2849). */
function line(attr: string, value: string): string {
  return /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ') ? `${attr}: ${value}\n` : `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}\n`;
}

/** Writes the seed LDIF: suffix, service account, OU tree, `users` generated users and alice. */
async function writeSeed(file: string, users: number): Promise<void> {
  const out = createWriteStream(file);
  const w = (s: string) => (out.write(s) ? Promise.resolve() : once(out, 'drain').then(() => undefined));
  await w(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: huitong\no: Huitong Test\n\n`);
  await w(`dn: ou=services,${SUFFIX}\nobjectClass: organizationalUnit\nou: services\n\n`);
  await w(`dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: sync\nuserPassword: ${ssha(SERVICE_PASSWORD)}\n\n`);
  await w(`dn: ${BASE_DN}\nobjectClass: organizationalUnit\nou: corp\n\n`);
  const ous = new Set<string>();
  const addOu = async (p: string[]) => {
    const key = p.join('\u0000');
    if (ous.has(key)) return;
    ous.add(key);
    await w(line('dn', ouDn(p)) + 'objectClass: organizationalUnit\n' + line('ou', p[p.length - 1] as string) + '\n');
  };
  for (const top of TOP) {
    await addOu([top]);
    for (let d = 0; d < 4; d++) {
      await addOu([top, `${top}-D${d}`]);
      for (let tm = 0; tm < 3; tm++) await addOu([top, `${top}-D${d}`, `${top}-D${d}-T${tm}`]);
    }
  }
  for (let n = 1; n <= users; n++) {
    const uid = uidOf(n);
    const p = userOuPath(n);
    let s = line('dn', userDn(n)) + 'objectClass: inetOrgPerson\n';
    if (lockedByAttr(n)) s += 'objectClass: huitongTestLock\nnsAccountLock: TRUE\n';
    s += `uid: ${uid}\ncn: User ${n}\nsn: ${n}\n` + line('displayName', `测试用户${n}`);
    s += `mail: ${uid}@huitong.test\nmobile: 138${String(n).padStart(8, '0')}\ntelephoneNumber: 010-${String(n).padStart(6, '0')}\ntitle: Engineer ${n % 7}\n`;
    s += line('departmentNumber', p.slice(0, 2).join('/'));
    if (inactiveByType(n)) s += 'employeeType: inactive\n';
    s += `userPassword: ${ssha(passwordOf(n))}\n\n`;
    await w(s);
  }
  await w(line('dn', ALICE.dn) + `objectClass: inetOrgPerson\nuid: alice\ncn: Alice Wang\nsn: Wang\ndisplayName: Alice Wang\nmail: alice@huitong.test\nuserPassword: ${ssha(ALICE.password)}\n\n`);
  out.end();
  await once(out, 'finish');
}

export interface Slapd {
  dir: string;
  /** ldap://127.0.0.1:PORT (plain and StartTLS) */
  url: string;
  /** ldaps://127.0.0.1:PORT */
  ldapsUrl: string;
  port: number;
  ldapsPort: number;
  ca: TestCa;
  users: number;
  sizeLimit: number;
  /** How long generating the LDIF + slapadd + start took. */
  timings: { seedMs: number; startMs: number };
  /** A client bound as the rootdn, for changing the directory in tests (closed at teardown). */
  admin(): Promise<Client>;
  /** Number of binds the server logged (stats); for "no bind was attempted" checks. */
  binds(): Promise<number>;
  stop(): Promise<void>;
}

const TEST_SCHEMA = `# nsAccountLock as 389-DS / Red Hat IdM define it, for the disabled-user tests
attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' DESC 'Account inactivation' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.7.1 NAME 'huitongTestLock' AUXILIARY MAY nsAccountLock )
`;

/**
 * Starts a private OpenLDAP slapd for one test file: a temp dir with
 * slapd.conf (mdb; core, cosine, nis, inetorgperson and a two-line test
 * schema), a per-run CA and certificate for ldaps:// and StartTLS, a size
 * limit below the user count (paged results may go past it:
 * size.prtotal=unlimited), seeded with slapadd before start. Stops at teardown.
 */
export async function startSlapd(t: Teardown, opts: { users?: number; sizeLimit?: number } = {}): Promise<Slapd> {
  const users = opts.users ?? 10_000;
  const sizeLimit = opts.sizeLimit ?? 1000;
  const dir = tempDir(t, 'huitong-slapd-');
  const t0 = Date.now();
  mkdirSync(path.join(dir, 'db'));
  const [ca] = await Promise.all([makeTestCa(dir), writeSeed(path.join(dir, 'seed.ldif'), users)]);
  writeFileSync(path.join(dir, 'test.schema'), TEST_SCHEMA);
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/nis.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `include ${path.join(dir, 'test.schema')}`,
      `pidfile ${path.join(dir, 'slapd.pid')}`,
      `argsfile ${path.join(dir, 'slapd.args')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `TLSCACertificateFile ${ca.caFile}`,
      `TLSCertificateFile ${ca.certFile}`,
      `TLSCertificateKeyFile ${ca.keyFile}`,
      'loglevel stats',
      // as permissive as the worst real server: a DN with an empty password binds (unauthenticated),
      // so a client that forgot to refuse empty passwords would log anyone in
      'allow bind_anon_dn',
      'database mdb',
      'maxsize 1073741824',
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PASSWORD}`,
      `directory ${path.join(dir, 'db')}`,
      'index objectClass,uid,entryUUID,entryCSN eq',
      // the service account is not the rootdn, so the limit applies to it; paging may go past it
      `limits dn.exact="${SERVICE_DN}" size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited`,
      `sizelimit ${sizeLimit}`,
      'access to dn.base="" by * read',
      'access to attrs=userPassword by self write by anonymous auth by * none',
      `access to * by dn.exact="${SERVICE_DN}" read by self read by anonymous auth by * none`,
      '',
    ].join('\n'),
  );
  await run('slapadd', ['-q', '-f', conf, '-l', path.join(dir, 'seed.ldif')]);
  const seedMs = Date.now() - t0;

  const t1 = Date.now();
  let proc: ChildProcess | null = null;
  let port = 0;
  let ldapsPort = 0;
  let log = '';
  for (let attempt = 0; attempt < 5 && !proc; attempt++) {
    port = await freePort();
    ldapsPort = await freePort();
    const p = spawn('slapd', ['-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${ldapsPort}/`, '-d', 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.length > 4_000_000) log = log.slice(-2_000_000);
    });
    try {
      await waitForPort(port, 10_000, p);
      await waitForPort(ldapsPort, 10_000, p);
      proc = p;
    } catch (e) {
      p.kill('SIGKILL');
      if (attempt === 4) throw new Error(`slapd did not start: ${(e as Error).message}\n${log.slice(-2000)}`);
    }
  }
  const startMs = Date.now() - t1;
  const clients: Client[] = [];
  const stop = async () => {
    for (const c of clients.splice(0)) await c.unbind().catch(() => undefined);
    if (proc && proc.exitCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
  };
  t.teardown(stop);
  return {
    dir, url: `ldap://127.0.0.1:${port}`, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`, port, ldapsPort, ca, users, sizeLimit,
    timings: { seedMs, startMs },
    async admin() {
      const c = new Client({ url: `ldap://127.0.0.1:${port}` });
      await c.bind(ROOT_DN, ROOT_PASSWORD);
      clients.push(c);
      return c;
    },
    async binds() {
      // give slapd a moment to write its log line
      await new Promise((r) => setTimeout(r, 100));
      return (log.match(/ BIND dn=/g) ?? []).length;
    },
    stop,
  };
}
