import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { hashToken } from '../../gateway/src/auth/service.js';
import { loadConfig } from '../../gateway/src/config/load.js';
import { SqliteDeviceRepo } from '../../gateway/src/devices/repo.js';
import { createLogger } from '../../gateway/src/log.js';
import type { GroupId, UserId } from '../../gateway/src/protocol/client-v1.js';
import { buildServices } from '../../gateway/src/services.js';
import { ensureTls } from '../../gateway/src/tls.js';

export interface BenchUser {
  id: UserId;
  account: string;
  /** Token of the device the message phases use. */
  token: string;
  deviceKey: string;
}

export interface BenchData {
  users: BenchUser[];
  groupId: GroupId;
  /** Tokens of extra devices, for the idle-connection and resume phases. */
  spareTokens: string[];
  cert: string;
  key: string;
}

/**
 * Prepares a data dir: `users` people (one password hash shared, as hashing is
 * not what is measured), one group with all of them, and device tokens issued
 * straight into the database the way a login would (login's scrypt cost is
 * deliberately not part of the messaging figures).
 */
export async function prepare(dataDir: string, users: number, spareTokens: number): Promise<BenchData> {
  const config = loadConfig({ env: {}, overrides: { dataDir, 'log.level': 'silent' } });
  const s = buildServices(config, createLogger('silent'));
  const devices = new SqliteDeviceRepo(s.db);
  const hash = await hashPassword('bench-password-1');
  const out: BenchUser[] = [];
  const expires = Date.now() + config.auth.tokenTtlDays * 86_400_000;
  s.db.exec('BEGIN');
  for (let i = 0; i < users; i++) {
    const account = `bench${String(i).padStart(5, '0')}`;
    const u = await s.directory.createUser({ account, name: `压测用户${i}`, passwordHash: hash, authorised: true });
    const deviceKey = `load-${i}`;
    const dev = await devices.upsertDevice(u.id, deviceKey, 'cli', 'bench', null, '127.0.0.1');
    const token = randomBytes(32).toString('base64url');
    await devices.issueToken(dev.id, hashToken(token), expires);
    out.push({ id: u.id, account, token, deviceKey });
  }
  const spare: string[] = [];
  for (let i = 0; i < spareTokens; i++) {
    const owner = out[i % out.length] as BenchUser;
    const dev = await devices.upsertDevice(owner.id, `spare-${i}`, 'cli', 'bench', null, '127.0.0.1');
    const token = randomBytes(32).toString('base64url');
    await devices.issueToken(dev.id, hashToken(token), expires);
    spare.push(token);
  }
  s.db.exec('COMMIT');
  await s.settings.set({ groupMemberLimit: Math.max(1000, users) });
  const group = await s.directory.createGroup('压测大群', out[0]?.id ?? null, out.map((u) => u.id));
  const tls = await ensureTls(dataDir, '', '', '');
  await s.close();
  return { users: out, groupId: group.id, spareTokens: spare, cert: tls.cert, key: tls.key };
}
