import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { exportBackup, type ExportResult } from '../../gateway/src/backup/export.js';
import { HEADER_ENTRY, RESTORE_POLICY } from '../../gateway/src/backup/format.js';
import { importBackup, type ImportOptions } from '../../gateway/src/backup/import.js';
import { importLockPath } from '../../gateway/src/backup/lock.js';
import { TarWriter } from '../../gateway/src/backup/tar.js';
import { readArchive } from '../../gateway/src/backup/verify.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import type { MessageId } from '../../gateway/src/protocol/client-v1.js';
import { buildServices, databaseFile, VERSION } from '../../gateway/src/services.js';
import { SecretBox, SECRET_KEY_FILE } from '../../gateway/src/settings/secret-box.js';
import { listMigrations } from '../../gateway/src/storage/sqlite.js';
import { online, within } from '../helpers/clients.js';
import { startGateway, tempDir, testConfig, TEST_PASSWORD } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';

/*
 * Full backup (F-3.6, issue 5 item 7): a seeded system of 10,000 users,
 * 100,000 messages and 1,000 files goes through export and import and comes
 * back exactly; bad archives are refused with clear errors and change nothing;
 * an import that fails at any step leaves the old data whole.
 */

const KNOWN_SCHEMA = listMigrations().reduce((m, x) => Math.max(m, x.version), 0);
const ADMIN_PW = 'backup-admin-pw-1';
const SYNC_SECRET = 'ldap-bind-password-42';
const log = createLogger('silent');

interface Seeded {
  dataDir: string;
  dbFile: string;
  users: number;
  messages: number;
  files: number;
}

/** A deterministic pseudo-random generator, so a failing run can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** PNG-looking bytes: a real signature and IHDR, then noise. */
function fakeImage(rand: () => number, size: number): Buffer {
  const b = randomBytes(Math.max(size, 33));
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(b, 0);
  b.writeUInt32BE(1 + Math.floor(rand() * 2000), 16);
  return b.subarray(0, Math.max(size, 33));
}

/**
 * Seeds a system through the services (administrator, secrets, a sync source
 * with a sealed password) and bulk SQL for volume: departments, users in
 * them, groups, 1:1 and group messages with inbox entries, recalls, read
 * receipts, files and images with uploads and message links, devices and
 * their session tokens. Returns the numbers to expect.
 */
async function seed(t: Test, dataDir: string, n: { users: number; messages: number; files: number; groups: number; seed: number }): Promise<Seeded> {
  const s = buildServices(testConfig(dataDir), log);
  const rand = rng(n.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  try {
    await s.admin.createFirstAdmin('root', ADMIN_PW, '系统管理员', '127.0.0.1');
    await s.admin.login('root', ADMIN_PW, '127.0.0.1', 'test');
    s.rtxCode.current();
    const db = s.db;
    const pwHash = await hashPassword(TEST_PASSWORD);
    const now = Date.now() - 86_400_000;
    const box = SecretBox.open(dataDir);
    const hasSync = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sync_sources'").get() !== undefined;
    db.transaction(() => {
      const dept = db.prepare('INSERT INTO departments (id, parent_id, name, sort_order, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      const deptIds: number[] = [];
      for (let i = 1; i <= 10; i++) {
        dept.run(i, null, `部门${i}`, i, i, now, now);
        deptIds.push(i);
        for (let k = 1; k <= 9; k++) {
          dept.run(i * 100 + k, i, `小组${i}-${k}`, k, i * 100 + k, now, now);
          deptIds.push(i * 100 + k);
        }
      }
      const user = db.prepare(`INSERT INTO users (id, account, name, pinyin, pinyin_initials, mobile, email, title, gender, status, authorised, auth_decided, blocked, password_hash, version, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?)`);
      const ud = db.prepare('INSERT INTO user_departments (user_id, dept_id, is_main, sort_order) VALUES (?, ?, ?, ?)');
      for (let u = 1; u <= n.users; u++) {
        user.run(u, `user${u}`, `用户${u}`, `yonghu${u}`, 'yh', `138${String(u).padStart(8, '0')}`, `user${u}@example.com`, pick(['工程师', '经理', '']), pick(['male', 'female', 'unknown']),
          u % 97 === 0 ? 'disabled' : 'active', u % 211 === 0 ? 1 : 0, pwHash, 1000 + u, now, now + u);
        const main = pick(deptIds);
        ud.run(u, main, 1, u);
        if (u % 10 === 0) {
          const other = pick(deptIds);
          if (other !== main) ud.run(u, other, 0, u);
        }
      }
      const group = db.prepare('INSERT INTO groups (id, name, owner_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
      const gm = db.prepare('INSERT OR IGNORE INTO group_members (group_id, user_id, joined_at) VALUES (?, ?, ?)');
      const members = new Map<number, number[]>();
      for (let g = 1; g <= n.groups; g++) {
        const owner = 1 + Math.floor(rand() * n.users);
        group.run(g, `群组${g}`, owner, 20_000 + g, now, now);
        const set = new Set([owner]);
        const size = 3 + Math.floor(rand() * 12);
        while (set.size < size) set.add(1 + Math.floor(rand() * n.users));
        for (const m of set) gm.run(g, m, now);
        members.set(g, [...set]);
      }
      db.prepare("UPDATE meta SET value = ? WHERE key = 'dir_version'").run(String(30_000));

      const file = db.prepare('INSERT INTO files (id, size, created_at) VALUES (?, ?, ?)');
      const upload = db.prepare('INSERT INTO file_uploads (file_id, user_id, created_at) VALUES (?, ?, ?)');
      const fileIds: { id: string; size: number; image: boolean }[] = [];
      for (let f = 0; f < n.files; f++) {
        const image = f % 3 === 0;
        const size = f === 0 ? 0 : f % 100 === 1 ? 200_000 + Math.floor(rand() * 300_000) : Math.floor(rand() * 8_000);
        const bytes = image && size > 0 ? fakeImage(rand, size) : randomBytes(size);
        const id = createHash('sha256').update(bytes).digest('hex');
        if (fileIds.some((x) => x.id === id)) continue;
        mkdirSync(path.join(dataDir, 'files', id.slice(0, 2)), { recursive: true });
        writeFileSync(path.join(dataDir, 'files', id.slice(0, 2), id), bytes);
        file.run(id, bytes.length, now + f);
        upload.run(id, 1 + Math.floor(rand() * n.users), now + f);
        fileIds.push({ id, size: bytes.length, image });
      }

      const msg = db.prepare('INSERT INTO messages (id, sender_id, cmid, conv_kind, conv_id, kind, body, mentions, origin, created_at, recalled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const inbox = db.prepare('INSERT INTO inbox (user_id, seq, message_id) VALUES (?, ?, ?)');
      const mf = db.prepare('INSERT INTO message_files (file_id, message_id) VALUES (?, ?)');
      const read = db.prepare(`INSERT INTO read_state (user_id, conv_kind, conv_id, up_to, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (user_id, conv_kind, conv_id) DO UPDATE SET up_to = excluded.up_to`);
      const seq = new Map<number, number>();
      const deliver = (u: number, id: number) => {
        const next = (seq.get(u) ?? 0) + 1;
        seq.set(u, next);
        inbox.run(u, next, id);
      };
      for (let id = 1; id <= n.messages; id++) {
        const sender = 1 + Math.floor(rand() * n.users);
        const isGroup = rand() < 0.4;
        const gid = isGroup ? 1 + Math.floor(rand() * n.groups) : 0;
        const to = isGroup ? gid : 1 + Math.floor(rand() * n.users);
        const f = id % 100 === 0 ? fileIds[(id / 100) % fileIds.length] : undefined;
        const kind = f ? (f.image ? 'image' : 'file') : 'text';
        const body = f ? JSON.stringify({ fileId: f.id, name: `附件${id}${f.image ? '.png' : '.bin'}`, size: f.size }) : JSON.stringify({ text: `消息 ${id} 🎉 ${'x'.repeat(id % 50)}` });
        const recalled = id % 500 === 0 ? now + id + 1000 : null;
        msg.run(id, isGroup ? (members.get(gid) as number[])[0] : sender, `c${id}`, isGroup ? 'group' : 'user', to, kind, body, id % 333 === 0 ? '[1,2]' : null, 'client', now + id, recalled);
        if (f) mf.run(f.id, id);
        const recipients = isGroup ? (members.get(gid) as number[]) : [...new Set([sender, to])];
        for (const u of recipients) deliver(u, id);
        if (id % 7 === 0) read.run(to, isGroup ? 'group' : 'user', isGroup ? gid : sender, id, now + id);
      }
      const device = db.prepare("INSERT INTO devices (id, user_id, device_key, type, name, created_at) VALUES (?, ?, ?, 'ios', 'iPhone', ?)");
      const token = db.prepare('INSERT INTO device_tokens (token_hash, device_id, created_at, expires_at) VALUES (?, ?, ?, ?)');
      for (let d = 1; d <= 200; d++) {
        device.run(d, 1 + ((d * 7) % n.users), `dev-${d}`, now);
        token.run(randomBytes(16).toString('hex'), d, now, now + 86_400_000 * 30);
      }
      if (hasSync) {
        db.prepare(`INSERT INTO sync_sources (id, kind, name, origin, config, created_at, updated_at) VALUES ('corp-ad', 'ldap', 'AD', 'ldap:corp-ad', ?, ?, ?)`)
          .run(JSON.stringify({ url: 'ldaps://dc1', bindDn: 'cn=huitong', bindPassword: box.seal(SYNC_SECRET) }), now, now);
      }
    })();
    await s.sso.sign((await s.directory.mustUserByAccount('user1')));
    const c = db.prepare('SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM messages) AS m, (SELECT COUNT(*) FROM files) AS f').get() as { u: number; m: number; f: number };
    return { dataDir, dbFile: databaseFile(testConfig(dataDir)), users: c.u, messages: c.m, files: c.f };
  } finally {
    await s.close();
    void t;
  }
}

/** Tables whose content an import does not take from the archive (compared separately). */
const SPECIAL = new Set<string>([...RESTORE_POLICY.clearedTables, ...RESTORE_POLICY.localTables, 'meta', 'rtx_relay', 'admin_action_log', 'sync_sources']);

/** A digest per table of every row, in primary-key order (all columns), blobs as hex. */
function digests(dbFile: string, only?: (table: string) => boolean): Map<string, { rows: number; sha256: string }> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const out = new Map<string, { rows: number; sha256: string }>();
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    for (const name of tables) {
      if (only && !only(name)) continue;
      const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[]).length;
      const order = Array.from({ length: cols }, (_, i) => i + 1).join(', ');
      const h = createHash('sha256');
      let rows = 0;
      for (const r of db.prepare(`SELECT * FROM "${name}" ORDER BY ${order}`).raw().iterate() as IterableIterator<unknown[]>) {
        h.update(JSON.stringify(r.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v))));
        h.update('\n');
        rows++;
      }
      out.set(name, { rows, sha256: h.digest('hex') });
    }
    return out;
  } finally {
    db.close();
  }
}

/** name → sha256 of every blob in the store (hashing the bytes, not trusting the name). */
function blobs(dataDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = path.join(dataDir, 'files');
  if (!existsSync(root)) return out;
  for (const shard of readdirSync(root).filter((d) => /^[a-f0-9]{2}$/.test(d))) {
    for (const id of readdirSync(path.join(root, shard))) out.set(id, createHash('sha256').update(readFileSync(path.join(root, shard, id))).digest('hex'));
  }
  return out;
}

/** Everything an operator could lose: table digests, blobs, stray files in the data dir. */
function state(dataDir: string) {
  const dbFile = databaseFile(testConfig(dataDir));
  const db = new Database(dbFile);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { tables: Object.fromEntries(digests(dbFile)), blobs: Object.fromEntries(blobs(dataDir)) };
}

function leftovers(dataDir: string): string[] {
  const tmp = path.join(dataDir, 'files', 'tmp');
  return [
    ...readdirSync(dataDir).filter((f) => f.includes('.restore-')),
    ...(existsSync(tmp) ? readdirSync(tmp).filter((f) => f.startsWith('restore-')) : []),
    ...(existsSync(importLockPath(dataDir)) ? ['backup-import.lock'] : []),
  ];
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
    return { code: 'none', message: '' };
  } catch (e) {
    return { code: String((e as { code?: unknown }).code ?? (e as Error).message), message: (e as Error).message };
  }
}

const importInto = (dataDir: string, file: string, extra: Partial<ImportOptions> = {}) =>
  importBackup({ config: testConfig(dataDir), dbFile: databaseFile(testConfig(dataDir)), file, confirm: true, ...extra });

// ---------------------------------------------------------------- the round trip at scale

const timings: Record<string, number> = {};
const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t0);
  }
};

t.test('a seeded system (10,000 users, 100,000 messages, 1,000 files) survives export and import exactly', async (t) => {
  const srcDir = tempDir(t, 'huitong-bk-src-');
  const src = await timed('seed', () => seed(t, srcDir, { users: 10_000, messages: 100_000, files: 1_000, groups: 800, seed: 7 }));
  t.equal(src.users, 10_000);
  t.equal(src.messages, 100_000);
  t.ok(src.files >= 999, `${src.files} files`);
  const before = await timed('digest source', async () => state(srcDir));

  const outDir = tempDir(t, 'huitong-bk-out-');
  const archive = path.join(outDir, 'full.tar');
  const phases = new Set<string>();
  let last = { bytesDone: 0, bytesTotal: 0 };
  const exported: ExportResult = await timed('export', () =>
    exportBackup({
      source: src.dbFile, filesDir: path.join(srcDir, 'files'), secretKeyFile: path.join(srcDir, SECRET_KEY_FILE), file: archive, productVersion: VERSION,
      onProgress: (p) => {
        phases.add(p.phase);
        if (p.phase === 'write') last = p;
      },
    }));
  t.same([...phases], ['snapshot', 'write', 'done'], 'progress goes through snapshot, write, done');
  t.ok(last.bytesTotal > 0 && last.bytesDone <= last.bytesTotal, 'write progress counts bytes against a known total');
  t.match(exported.counts, { users: 10_000, messages: 100_000, files: src.files, groups: 800, departments: 100 });
  t.same(exported.missingFiles, []);
  t.equal(readFileSync(archive + '.sha256', 'utf8'), `${exported.sha256}  full.tar\n`, 'a sha256sum-style checksum file beside the archive');
  t.equal(createHash('sha256').update(readFileSync(archive)).digest('hex'), exported.sha256, 'which is the SHA-256 of the whole file');
  t.equal((statSync(archive).mode & 0o777).toString(8), '600', 'the archive is readable by its owner only');
  t.same(readdirSync(outDir).sort(), ['full.tar', 'full.tar.sha256'], 'no temporary files left');
  t.same(state(srcDir), before, 'exporting changed nothing in the source');

  const verified = await timed('verify', () => readArchive(archive, { knownSchemaVersion: KNOWN_SCHEMA }));
  t.match(verified, { checksumFile: 'ok', sha256: exported.sha256, counts: exported.counts, header: { schemaVersion: KNOWN_SCHEMA, productVersion: VERSION } });

  const dstDir = tempDir(t, 'huitong-bk-dst-');
  const seen = new Set<string>();
  const r = await timed('import', () => importInto(dstDir, archive, { onProgress: (p) => seen.add(p.phase), actor: 'test' }));
  t.ok(r.imported);
  t.match(r.counts, { users: 10_000, messages: 100_000, files: src.files });
  t.same([...seen], ['extract', 'prepare', 'swap', 'cleanup', 'done'], 'import progress phases');
  t.same(leftovers(dstDir), [], 'no staging files or lock left');

  const after = await timed('digest restored', async () => state(dstDir));
  const differs = Object.keys(before.tables).filter((name) => !SPECIAL.has(name) && before.tables[name]?.sha256 !== after.tables[name]?.sha256);
  t.same(differs, [], 'every table of the organisation, messages and files is identical');
  t.same(Object.keys(after.tables).sort(), Object.keys(before.tables).sort(), 'the same tables');
  t.equal(after.tables.messages?.rows, 100_000);
  t.ok((after.tables.inbox?.rows ?? 0) > 200_000, `${after.tables.inbox?.rows} inbox entries`);
  t.same(after.blobs, before.blobs, 'every blob, byte for byte');
  for (const [id, sha] of Object.entries(after.blobs)) if (id !== sha) t.fail(`blob ${id} hashes to ${sha}`);

  // the documented resets and the special tables
  const db = new Database(databaseFile(testConfig(dstDir)), { readonly: true });
  const srcDb = new Database(src.dbFile, { readonly: true });
  t.teardown(() => (db.close(), srcDb.close()));
  const count = (d: Database.Database, sql: string) => (d.prepare(sql).get() as { n: number }).n;
  for (const table of ['admin_sessions', 'device_tokens', 'sso_secret', 'rtx_connection_code', 'licences']) t.equal(count(db, `SELECT COUNT(*) AS n FROM ${table}`), 0, `${table} is empty after the import`);
  t.ok(count(srcDb, 'SELECT COUNT(*) AS n FROM device_tokens') > 0 && count(srcDb, 'SELECT COUNT(*) AS n FROM admin_sessions') > 0, 'while the source had sessions');
  t.equal(count(db, 'SELECT COUNT(*) AS n FROM devices'), 200, 'devices are kept (their tokens are not)');
  t.equal(count(db, 'SELECT last_message_id AS n FROM rtx_relay'), 100_000, 'restored messages are not relayed to RTX again');
  t.same(db.prepare("SELECT key, value FROM meta WHERE key <> 'installation_id' ORDER BY key").all(), srcDb.prepare("SELECT key, value FROM meta WHERE key <> 'installation_id' ORDER BY key").all(), 'meta (directory version) restored');
  const srcLog = srcDb.prepare('SELECT * FROM admin_action_log ORDER BY id').all();
  t.same(db.prepare('SELECT * FROM admin_action_log WHERE id <= ? ORDER BY id').all((srcLog.at(-1) as { id: number } | undefined)?.id ?? 0), srcLog, 'the action log is restored');
  t.match(db.prepare("SELECT * FROM admin_action_log WHERE action = 'backup.import'").get(), { admin_username: 'test', target_label: 'full.tar' }, 'and records the import');
  t.same(db.prepare('SELECT * FROM plugin_stream').all(), [{ adapter_id: '', bound: 1, in_seq: 0, out_seq: 0, out_acked: 0, name: '', software: '', first_seen_at: 0, last_seen_at: null }], 'the RTX link state is the target\'s own (fresh)');
  const syncRow = db.prepare("SELECT * FROM sqlite_master WHERE name = 'sync_sources'").get() ? (db.prepare("SELECT config FROM sync_sources WHERE id = 'corp-ad'").get() as { config: string }) : null;
  if (syncRow) {
    const sealed = (JSON.parse(syncRow.config) as { bindPassword: string }).bindPassword;
    t.equal(SecretBox.open(dstDir).open(sealed), SYNC_SECRET, 'a sealed sync-source secret opens with the new data directory\'s key');
    t.not(readFileSync(path.join(dstDir, SECRET_KEY_FILE), 'utf8'), readFileSync(path.join(srcDir, SECRET_KEY_FILE), 'utf8'), 'which is its own key');
  }

  // a client of the restored system logs in and syncs its messages
  const gw = await timed('gateway start', () => startGateway(t, { dataDir: dstDir }));
  const busiest = srcDb.prepare('SELECT user_id AS u, COUNT(*) AS n FROM inbox i JOIN users u ON u.id = i.user_id AND u.status = \'active\' GROUP BY user_id ORDER BY n DESC LIMIT 1').get() as { u: number; n: number };
  const expected = (srcDb.prepare('SELECT message_id AS id FROM inbox WHERE user_id = ? ORDER BY seq').all(busiest.u) as { id: number }[]).map((r) => r.id);
  await timed('client sync', async () => {
    const { inbox } = await online(t, gw, `user${busiest.u}`);
    await inbox.until((ms) => ms.length >= expected.length, `user${busiest.u}'s ${expected.length} messages`, 20_000);
    t.same(inbox.messages.map((m) => m.id), expected as MessageId[], `user${busiest.u} syncs all ${expected.length} messages in seq order`);
    const recalled = srcDb.prepare('SELECT i.message_id AS id FROM inbox i JOIN messages m ON m.id = i.message_id WHERE i.user_id = ? AND m.recalled_at IS NOT NULL').all(busiest.u) as { id: number }[];
    for (const { id } of recalled) t.ok(inbox.messages.find((m) => m.id === id)?.recalled, `message ${id} is still recalled`);
  });

  // the console: export through the API, follow the job, download, verify what was downloaded
  await timed('admin api', async () => {
    const app = gw.gw.http;
    const login = await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username: 'root', password: ADMIN_PW } });
    t.equal(login.statusCode, 200, 'the restored administrator logs in (with a new session)');
    const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
    const csrf = (login.json() as { csrfToken: string }).csrfToken;
    const h = { cookie, 'x-csrf-token': csrf };
    const start = await app.inject({ method: 'POST', url: '/api/admin/backup/export', headers: h, payload: {} });
    t.equal(start.statusCode, 202, start.body);
    const job = start.json() as { id: string; name: string };
    const busy = await app.inject({ method: 'POST', url: '/api/admin/backup/export', headers: h, payload: {} });
    t.match(busy.json(), { error: { code: 'GW_BACKUP_BUSY' } }, 'one job at a time');
    let view: { state: string; progress: { phase: string }; result: { sha256: string } | null; error: unknown } = { state: 'running', progress: { phase: '' }, result: null, error: null };
    const phasesSeen = new Set<string>();
    await within((async () => {
      while (view.state === 'running') {
        view = (await app.inject({ method: 'GET', url: `/api/admin/backup/jobs/${job.id}`, headers: h })).json() as typeof view;
        phasesSeen.add(view.progress.phase);
        await new Promise((r) => setTimeout(r, 50));
      }
    })(), 30_000, 'the export job');
    t.equal(view.state, 'done', JSON.stringify(view.error));
    t.ok(phasesSeen.size >= 1, `progress phases seen: ${[...phasesSeen].join(', ')}`);
    const list = (await app.inject({ method: 'GET', url: '/api/admin/backup/files', headers: h })).json() as { archives: { name: string; sha256: string }[] };
    t.match(list.archives, [{ name: job.name, sha256: view.result?.sha256 }]);
    const dl = await app.inject({ method: 'GET', url: `/api/admin/backup/files/${job.name}`, headers: h });
    t.equal(dl.statusCode, 200);
    t.equal(dl.headers['x-huitong-sha256'], view.result?.sha256);
    t.equal(createHash('sha256').update(dl.rawPayload).digest('hex'), view.result?.sha256, 'the download is the archive');
    const copy = path.join(outDir, 'downloaded.tar');
    writeFileSync(copy, dl.rawPayload);
    t.match(await readArchive(copy, { knownSchemaVersion: KNOWN_SCHEMA }), { counts: { users: 10_000, messages: 100_000 } }, 'and it verifies');
    for (const bad of ['..%2Fhuitong.db', '.hidden.tar', 'x%2F..%2F..%2Fetc.tar', 'huitong.db', '%2Fetc%2Fpasswd']) {
      const res = await app.inject({ method: 'GET', url: `/api/admin/backup/files/${bad}`, headers: h });
      t.ok(res.statusCode === 400 || res.statusCode === 404, `${bad} → ${res.statusCode}`);
    }
    // upload an archive (here: a damaged copy), verify it as a job, delete it
    const damaged = Buffer.from(dl.rawPayload);
    damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] as number) ^ 0x10;
    const up = await app.inject({ method: 'PUT', url: '/api/admin/backup/files/uploaded.tar', headers: { ...h, 'content-type': 'application/x-tar' }, payload: damaged });
    t.equal(up.statusCode, 201, up.body);
    t.same(up.json(), { name: 'uploaded.tar', bytes: damaged.length });
    const again = await app.inject({ method: 'PUT', url: '/api/admin/backup/files/uploaded.tar', headers: { ...h, 'content-type': 'application/x-tar' }, payload: Buffer.from('x') });
    t.match(again.json(), { error: { code: 'GW_CONFLICT' } }, 'an upload never replaces an archive');
    const vjob = (await app.inject({ method: 'POST', url: '/api/admin/backup/files/uploaded.tar/verify', headers: h, payload: {} })).json() as { id: string };
    let vview: { state: string; error: { code: string; message: string } | null } = { state: 'running', error: null };
    while (vview.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      vview = (await app.inject({ method: 'GET', url: `/api/admin/backup/jobs/${vjob.id}`, headers: h })).json() as typeof vview;
    }
    t.match(vview, { state: 'failed', error: { code: 'GW_BACKUP_INVALID', message: /corrupt|damaged/ } }, 'the verify job finds the damage');
    t.equal((await app.inject({ method: 'DELETE', url: '/api/admin/backup/files/uploaded.tar', headers: h })).statusCode, 204);
    t.notOk(existsSync(path.join(dstDir, 'backups', 'uploaded.tar')), 'deleted');
    const imp = await app.inject({ method: 'POST', url: '/api/admin/backup/import', headers: h, payload: {} });
    t.match(imp.json(), { error: { code: 'GW_BACKUP_SERVER_RUNNING', message: /huitong backup import/ } }, 'the API says how to import');
    const anon = await app.inject({ method: 'POST', url: '/api/admin/backup/export', payload: {} });
    t.equal(anon.statusCode, 401, 'not without a session');
  });
  t.comment(`timings (ms): ${JSON.stringify(timings)}; archive ${(exported.bytes / 1024 / 1024).toFixed(1)} MiB`);
});

// ---------------------------------------------------------------- bad archives, failures, the CLI

/** A small system A (the archive) and a different system B to import into. */
async function smallPair(t: Test) {
  const aDir = tempDir(t, 'huitong-bk-a-');
  await seed(t, aDir, { users: 60, messages: 400, files: 30, groups: 5, seed: 11 });
  const bDir = tempDir(t, 'huitong-bk-b-');
  await seed(t, bDir, { users: 40, messages: 300, files: 20, groups: 4, seed: 12 });
  const outDir = tempDir(t, 'huitong-bk-small-');
  const archive = path.join(outDir, 'a.tar');
  await exportBackup({ source: databaseFile(testConfig(aDir)), filesDir: path.join(aDir, 'files'), secretKeyFile: path.join(aDir, SECRET_KEY_FILE), file: archive, productVersion: VERSION });
  return { aDir, bDir, outDir, archive };
}

t.test('bad archives are refused with a clear error, and the system imported into is unchanged', async (t) => {
  const { bDir, outDir, archive } = await smallPair(t);
  const bBefore = state(bDir);
  const bytes = readFileSync(archive);
  const variant = (name: string, data: Buffer) => {
    const f = path.join(outDir, name);
    writeFileSync(f, data);
    return f;
  };
  const expectRefused = async (file: string, code: string, message: RegExp, what: string) => {
    const v = await codeOf(readArchive(file, { knownSchemaVersion: KNOWN_SCHEMA }));
    t.equal(v.code, code, `verify: ${what}`);
    t.match(v.message, message, `verify says: ${v.message}`);
    const i = await codeOf(importInto(bDir, file));
    t.equal(i.code, code, `import: ${what}`);
  };

  // one flipped byte anywhere: in a header, the database, a blob, padding, the manifest, the trailer
  const positions = [0, 100, 148, 600, 1024 + 5000, Math.floor(bytes.length / 2), bytes.length - 3000, bytes.length - 1100, bytes.length - 600, bytes.length - 1];
  const rand = rng(3);
  for (let i = 0; i < 10; i++) positions.push(Math.floor(rand() * bytes.length));
  for (const pos of positions) {
    const flipped = Buffer.from(bytes);
    flipped[pos] = (flipped[pos] as number) ^ 0x40;
    const f = variant('flipped.tar', flipped);
    const v = await codeOf(readArchive(f, { knownSchemaVersion: KNOWN_SCHEMA }));
    t.equal(v.code, 'GW_BACKUP_INVALID', `a byte flipped at ${pos} of ${bytes.length} is detected: ${v.message}`);
  }
  const flipped = Buffer.from(bytes);
  flipped[Math.floor(bytes.length / 3)] = (flipped[Math.floor(bytes.length / 3)] as number) ^ 1;
  await expectRefused(variant('corrupt.tar', flipped), 'GW_BACKUP_INVALID', /corrupt|damaged|checksum/, 'a corrupted archive');

  // with the checksum file beside it, even a change the entries cannot see is caught
  const c2 = variant('padded.tar', Buffer.concat([bytes]));
  copyFileSync(archive + '.sha256', c2 + '.sha256');
  writeFileSync(c2 + '.sha256', readFileSync(archive + '.sha256', 'utf8').replace(/^./, (x) => (x === '0' ? '1' : '0')));
  await expectRefused(c2, 'GW_BACKUP_INVALID', /does not match padded\.tar\.sha256/, 'an archive that does not match its checksum file');

  for (const cut of [bytes.length - 1, bytes.length - 1024, bytes.length - 2000, Math.floor(bytes.length / 2), 700]) {
    await expectRefused(variant('truncated.tar', bytes.subarray(0, cut)), 'GW_BACKUP_INVALID', /truncated|not a Huitong backup/, `truncated to ${cut} bytes`);
  }
  await expectRefused(variant('text.tar', Buffer.from('hello, this is not a backup\n'.repeat(100))), 'GW_BACKUP_INVALID', /not a Huitong backup archive/, 'a text file');
  await expectRefused(variant('zip.tar', Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(5000)])), 'GW_BACKUP_INVALID', /not a Huitong backup archive/, 'a zip file');
  await expectRefused(variant('empty.tar', Buffer.alloc(0)), 'GW_BACKUP_INVALID', /not a Huitong backup archive/, 'an empty file');

  const craft = async (name: string, entries: [string, Buffer][]) => {
    const f = path.join(outDir, name);
    const fh = await open(f, 'w');
    const w = new TarWriter(fh, 0);
    for (const [n, b] of entries) await w.addBuffer(n, b);
    await w.finish();
    await fh.close();
    return f;
  };
  const header = (h: Record<string, unknown>) => Buffer.from(JSON.stringify({ format: 'huitong-backup', formatVersion: 1, productVersion: '9.0.0', schemaVersion: KNOWN_SCHEMA, createdAt: new Date().toISOString(), ...h }));
  await expectRefused(await craft('other.tar', [['notes.txt', Buffer.from('hello')]]), 'GW_BACKUP_INVALID', /not a Huitong backup archive/, 'a tar file of something else');
  await expectRefused(await craft('newer-schema.tar', [[HEADER_ENTRY, header({ schemaVersion: KNOWN_SCHEMA + 1 })]]), 'GW_BACKUP_TOO_NEW', new RegExp(`schema version ${KNOWN_SCHEMA + 1}, newer than this program knows \\(${KNOWN_SCHEMA}\\); install Huitong 9\\.0\\.0`), 'a newer schema');
  await expectRefused(await craft('newer-format.tar', [[HEADER_ENTRY, header({ formatVersion: 2 })]]), 'GW_BACKUP_TOO_NEW', /backup format 2/, 'a newer archive format');
  await expectRefused(await craft('no-manifest.tar', [[HEADER_ENTRY, header({})]]), 'GW_BACKUP_INVALID', /no manifest/, 'no manifest');
  await expectRefused(await craft('evil.tar', [[HEADER_ENTRY, header({})], ['../../etc/passwd', Buffer.from('x')]]), 'GW_BACKUP_INVALID', /unexpected entry/, 'a path outside the archive');

  t.same(state(bDir), bBefore, 'after all of that, B is exactly as it was');
  t.same(leftovers(bDir), [], 'and nothing was left behind');
});

t.test('an import that fails at any step leaves the old data whole; a crash after the commit leaves the new data whole', async (t) => {
  const { aDir, bDir, archive } = await smallPair(t);
  const aState = state(aDir);
  const bBefore = state(bDir);
  const firstBlob = Object.keys(aState.blobs).sort()[3] as string;
  for (const point of [`entry:files/${firstBlob.slice(0, 2)}/${firstBlob}`, 'extracted', 'prepared', 'files-placed']) {
    const r = await codeOf(importInto(bDir, archive, { fault: (p) => { if (p === point) throw new Error(`injected fault at ${point}`); } }));
    t.match(r.message, /injected fault/, `failed at ${point}`);
    t.same(state(bDir), bBefore, `after a failure at ${point}, B's database and files are exactly as they were`);
    t.same(leftovers(bDir), [], `and no staging is left (${point})`);
  }
  // what a crash (no cleanup at all) leaves behind is cleaned by the next import
  writeFileSync(`${databaseFile(testConfig(bDir))}.restore-deadbeef`, 'half a database');
  mkdirSync(path.join(bDir, 'files', 'tmp', 'restore-deadbeef', 'files'), { recursive: true });

  // a live import lock (another import running) refuses both the import and the server
  writeFileSync(importLockPath(bDir), `${process.ppid}\n`);
  t.equal((await codeOf(importInto(bDir, archive))).code, 'GW_BACKUP_BUSY', 'a second import is refused');
  t.equal((await codeOf(Promise.resolve().then(() => buildServices(testConfig(bDir), log)))).code, 'GW_BACKUP_BUSY', 'the server (and direct CLI commands) will not open the database meanwhile');
  writeFileSync(importLockPath(bDir), '999999999\n');

  // a running server refuses the import
  const gw = await buildGateway(testConfig(bDir), { log, plaintext: true });
  await gw.start();
  const running = await codeOf(importInto(bDir, archive));
  await gw.stop();
  t.equal(running.code, 'GW_BACKUP_SERVER_RUNNING', 'import refuses while the server runs');
  t.match(running.message, /stop it first/);

  const bStopped = state(bDir);
  const r = await codeOf(importInto(bDir, archive, { fault: (p) => { if (p === 'committed') throw new Error('crash after the commit'); } }));
  t.match(r.message, /crash after the commit/);
  const after = state(bDir);
  const differs = Object.keys(aState.tables).filter((n) => !SPECIAL.has(n) && aState.tables[n]?.sha256 !== after.tables[n]?.sha256);
  t.same(differs, [], 'the new data is complete');
  for (const id of Object.keys(aState.blobs)) t.equal(after.blobs[id], id, `blob ${id.slice(0, 8)} is in place`);
  t.ok(Object.keys(bStopped.blobs).some((id) => after.blobs[id] !== undefined && aState.blobs[id] === undefined), 'old blobs are only garbage (not yet removed), invisible to the new database');
  t.same(leftovers(bDir), [], 'the staging of the crashed import is gone too');

  const again = await importInto(bDir, archive);
  t.ok(again.removedFiles >= 0);
  t.same(Object.keys(state(bDir).blobs).sort(), Object.keys(aState.blobs).sort(), 'a complete import leaves exactly the archive\'s blobs');
});

t.test('huitong backup export / verify / import', async (t) => {
  const { aDir, bDir, outDir } = await smallPair(t);
  const file = path.join(outDir, 'cli.tar');
  const ex = await runCli(['backup', 'export', file, '--data', aDir]);
  t.equal(ex.code, 0, ex.stderr);
  t.match(JSON.parse(ex.stdout), { file, counts: { users: 60, messages: 400 } });
  t.match(ex.stderr, /writing archive: 100%/, 'plain progress lines when stderr is not a terminal');

  const ve = await runCli(['backup', 'verify', file]);
  t.equal(ve.code, 0, ve.stderr);
  t.match(ve.stderr, /60 users, .* 400 messages, .*verified/s);

  const bBefore = state(bDir);
  const no = await runCli(['backup', 'import', file, '--data', bDir]);
  t.equal(no.code, 1, 'without --yes (and no terminal to ask) nothing is imported');
  t.match(no.stderr, /nothing was changed: the archive is valid; confirm with --yes/);
  t.same(state(bDir), bBefore, 'B unchanged');

  const bad = path.join(outDir, 'bad.tar');
  const bytes = readFileSync(file);
  bytes[2000] = (bytes[2000] as number) ^ 0xff;
  writeFileSync(bad, bytes);
  const corrupt = await runCli(['backup', 'import', bad, '--yes', '--data', bDir]);
  t.equal(corrupt.code, 1);
  t.match(corrupt.stderr, /huitong: GW_BACKUP_INVALID: /);
  truncateSync(bad, 0);

  const yes = await runCli(['backup', 'import', file, '--yes', '--data', bDir]);
  t.equal(yes.code, 0, yes.stderr);
  t.match(yes.stderr, /log in again/);
  t.equal((JSON.parse(yes.stdout) as { counts: { users: number } }).counts.users, 60);
  const users = await runCli(['user', 'list', '--data', bDir, '--limit', '1']);
  t.equal((JSON.parse(users.stdout) as { total: number }).total, 60, 'the CLI sees the restored directory');
  rmSync(bad, { force: true });
});
