import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { tempDir } from './gateway.js';
import { findTool } from './slapd.js';

const run = promisify(execFile);

interface TestLike {
  teardown(fn: () => unknown): void;
  comment(msg: string): void;
}

export const REALM = 'HUITONG.TEST';
export const AD_BASE_DN = 'DC=huitong,DC=test';
export const AD_ADMIN = `Administrator@${REALM}`;
export const AD_ADMIN_PASSWORD = 'Admin-Pass-123';

export interface SambaAd {
  dir: string;
  /** ldap://127.0.0.1:PORT reaching the DC's port 389 (through a relay when in a network namespace). */
  url: string;
  /** 'netns': private network namespace (unshare -n), so any number may run; 'host': 127.0.0.1:389 under a lock. */
  mode: 'netns' | 'host';
  timings: { provisionMs: number; startMs: number };
  /** Runs samba-tool against the DC's own database (user add / disable / ou add). */
  tool(...args: string[]): Promise<string>;
  /** A client bound as Administrator (closed at teardown). */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

/** Can this machine give a process its own network namespace (root, or user namespaces) with `ip` to raise lo? */
function netnsWorks(): boolean {
  if (!findTool('unshare') || !findTool('ip')) return false;
  const r = spawnSync('unshare', ['-n', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** A relay run inside the namespace: a Unix socket in the (shared) filesystem → 127.0.0.1:PORT there. */
const RELAY = `
const net = require('node:net'); const fs = require('node:fs');
const [sock, port] = process.argv.slice(2);
try { fs.unlinkSync(sock); } catch {}
net.createServer((c) => { const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u).pipe(c); u.on('error', () => c.destroy()); c.on('error', () => u.destroy()); }).listen(sock);
`;

const LOCK = '/tmp/huitong-samba-ad.lock';

/** One host-mode DC at a time (ports 389/636/88 are fixed): an O_EXCL lock file naming its pid. */
async function hostLock(timeoutMs: number): Promise<() => void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8').trim() || '0');
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        // holder is gone: a stale lock
      }
      if (!alive) rmSync(LOCK, { force: true });
      else if (Date.now() > until) throw new Error(`another Samba AD test (pid ${holder}) holds ${LOCK}`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Provisions a throwaway Samba AD domain controller (HUITONG.TEST) in a temp
 * dir and runs it in the foreground (`samba -i -M single`), per
 * docs/test-infrastructure.md. In a private network namespace when the
 * machine allows it (reached through a Unix-socket relay and a loopback TCP
 * port here), else on 127.0.0.1:389 guarded by a lock. Stops at teardown.
 */
export async function startSambaAd(t: TestLike): Promise<SambaAd> {
  const dir = tempDir(t, 'huitong-samba-');
  const conf = path.join(dir, 'etc', 'smb.conf');
  const t0 = Date.now();
  await run('samba-tool', [
    'domain', 'provision', `--realm=${REALM}`, '--domain=HUITONG', '--server-role=dc', '--dns-backend=NONE',
    `--adminpass=${AD_ADMIN_PASSWORD}`, `--targetdir=${dir}`, '--use-rfc2307', '--option=interfaces=lo', '--option=bind interfaces only=yes',
  ], { timeout: 120_000 });
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  writeFileSync(
    conf,
    readFileSync(conf, 'utf8')
      .replace(/^\s*server services = .*$/m, '\tserver services = ldap, cldap, kdc, rpc')
      .replace(/^\s*log file = .*$/m, `\tlog file = ${path.join(dir, 'log.%m')}`)
      .replace('[global]', `[global]\n\tldap server require strong auth = no\n\tpid directory = ${path.join(dir, 'run')}`),
  );
  const provisionMs = Date.now() - t0;

  const t1 = Date.now();
  const mode: SambaAd['mode'] = netnsWorks() ? 'netns' : 'host';
  let release: (() => void) | null = null;
  let proc: ChildProcess;
  let relayServer: Server | null = null;
  const sockets = new Set<Socket>();
  let url: string;
  let out = '';
  if (mode === 'netns') {
    const sock = path.join(dir, 'ldap.sock');
    writeFileSync(path.join(dir, 'relay.cjs'), RELAY);
    proc = spawn('unshare', ['-n', '--', 'sh', '-c', `ip link set lo up && { "${process.execPath}" "${path.join(dir, 'relay.cjs')}" "${sock}" 389 & exec samba -i -M single -s "${conf}"; }`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // the test side: a loopback TCP port piped to the relay's Unix socket
    relayServer = createServer((c) => {
      sockets.add(c);
      const u = netConnect(sock);
      c.pipe(u).pipe(c);
      u.on('error', () => c.destroy());
      c.on('error', () => u.destroy());
      c.on('close', () => sockets.delete(c));
    });
    relayServer.listen(0, '127.0.0.1');
    await once(relayServer, 'listening');
    url = `ldap://127.0.0.1:${(relayServer.address() as { port: number }).port}`;
  } else {
    release = await hostLock(120_000);
    proc = spawn('samba', ['-i', '-M', 'single', '-s', conf], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    url = 'ldap://127.0.0.1:389';
  }
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit');
  const stop = async () => {
    for (const c of clients.splice(0)) await c.unbind().catch(() => undefined);
    if (proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-(proc.pid as number), 'SIGTERM'); // the whole group: sh, relay, samba
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-(proc.pid as number), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const s of sockets) s.destroy();
    relayServer?.close();
    release?.();
  };
  t.teardown(stop);
  const clients: Client[] = [];
  // ready when an Administrator bind works (LDAP answers within a few seconds of start)
  const until = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`samba exited with ${proc.exitCode}:\n${out.slice(-3000)}`);
    }
    const c = new Client({ url, connectTimeout: 2000, timeout: 5000 });
    try {
      await c.bind(AD_ADMIN, AD_ADMIN_PASSWORD);
      await c.unbind();
      break;
    } catch {
      await c.unbind().catch(() => undefined);
      if (Date.now() > until) {
        await stop();
        throw new Error(`Samba AD did not answer LDAP within 60 s:\n${out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const startMs = Date.now() - t1;
  t.comment(`samba AD: provision ${provisionMs} ms, start ${startMs} ms (${mode})`);
  return {
    dir, url, mode, timings: { provisionMs, startMs },
    async tool(...args) {
      const r = await run('samba-tool', [...args, '-s', conf], { timeout: 60_000 });
      return r.stdout;
    },
    async admin() {
      const c = new Client({ url });
      await c.bind(AD_ADMIN, AD_ADMIN_PASSWORD);
      clients.push(c);
      return c;
    },
    stop,
  };
}
