import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../gateway/src/config/load.js';
import type { Config } from '../../gateway/src/config/schema.js';
import { buildGateway, type Gateway } from '../../gateway/src/gateway.js';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { createLogger } from '../../gateway/src/log.js';
import type { UserRecord } from '../../gateway/src/directory/types.js';
import type { Settings } from '../../gateway/src/settings/settings.js';
import { readFileSync } from 'node:fs';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: Teardown, prefix = 'huitong-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config for tests: ephemeral ports on loopback, a fresh data dir. */
export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({
    env: {},
    overrides: {
      dataDir, 'http.port': 0, 'https.port': 0, 'tcp.port': 0, 'plugin.port': 0, 'rtxSdk.port': 0, 'http.host': '127.0.0.1', 'https.host': '127.0.0.1', 'tcp.host': '127.0.0.1', 'plugin.host': '127.0.0.1', 'rtxSdk.host': '127.0.0.1',
      'log.level': 'silent',
      // a private console build (HUITONG_TEST_CONSOLE_DIR), so parallel work never serves a half-written admin/dist
      ...(process.env.HUITONG_TEST_CONSOLE_DIR ? { 'http.consoleDir': process.env.HUITONG_TEST_CONSOLE_DIR } : {}),
      ...overrides,
    },
  });
}

export interface TestGateway {
  gw: Gateway;
  dataDir: string;
  /** wss://127.0.0.1:PORT/ws */
  wss: string;
  /** tls://127.0.0.1:PORT */
  tcp: string;
  /** http://127.0.0.1:PORT */
  http: string;
  /** https://127.0.0.1:PORT */
  https: string;
  /** The self-signed certificate, for clients that verify it. */
  ca: string;
  addUser(account: string, opts?: { name?: string; password?: string; authorised?: boolean }): Promise<UserRecord>;
}

let cachedHash: Promise<string> | null = null;
/** Every test user's password; hashed once per process to keep tests fast. */
export const TEST_PASSWORD = 'correct-horse-9';

/** Starts a real gateway (TLS listeners on ephemeral loopback ports) and stops it at teardown. */
export async function startGateway(t: Teardown, opts: { config?: Record<string, unknown>; settings?: Partial<Settings>; dataDir?: string; vendorPublicKeyPem?: string } = {}): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? tempDir(t);
  const config = testConfig(dataDir, opts.config);
  const gw = await buildGateway(config, { log: createLogger('silent'), adminSocket: false, ...(opts.vendorPublicKeyPem ? { vendorPublicKeyPem: opts.vendorPublicKeyPem } : {}) });
  if (opts.settings) await gw.services.settings.set(opts.settings);
  await gw.start();
  t.teardown(() => gw.stop());
  const p = gw.ports();
  return {
    gw, dataDir,
    wss: `wss://127.0.0.1:${p.https}/ws`,
    tcp: `tls://127.0.0.1:${p.tcp}`,
    http: `http://127.0.0.1:${p.http}`,
    https: `https://127.0.0.1:${p.https}`,
    ca: readFileSync(path.join(dataDir, 'tls', 'self-signed.crt'), 'utf8'),
    async addUser(account, o = {}) {
      let passwordHash: string;
      if (o.password && o.password !== TEST_PASSWORD) passwordHash = await hashPassword(o.password);
      else passwordHash = await (cachedHash ??= hashPassword(TEST_PASSWORD));
      return gw.services.directory.createUser({ account, name: o.name ?? account, passwordHash, authorised: o.authorised ?? true });
    },
  };
}
