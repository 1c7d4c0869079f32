import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { queueReplaceDone, REPLACE_FAILED_ERRCODE, type ReplaceOutcome } from '../../apps/callbacks-org.js';
import type { Db } from '../../storage/sqlite.js';
import { data, type AppCall, type AppEndpoint, type OpenApiDeps } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { ORG } from '../org/codes.js';
import { get, input, strOf, userByAccount } from '../org/input.js';
import { applyReplace, checkReplace, summaryText } from '../org/replace.js';
import { orgStore } from '../org/store.js';
import { userOut } from '../org/views.js';
import { ORG_READ, ORG_WRITE } from './org-depts.js';

/**
 * Full sync and the org file (wire spec §3.6; docs/open-api.md "Full sync").
 */

/** Jobs running in this process, by database: what getjobresult and tests wait on. */
const running = new WeakMap<Db, Map<string, Promise<void>>>();

function jobsOf(db: Db): Map<string, Promise<void>> {
  let m = running.get(db);
  if (!m) running.set(db, (m = new Map()));
  return m;
}

/** Settles when the job ends (at once when it is not running in this process). */
export function jobDone(db: Db, jobId: string): Promise<void> {
  return jobsOf(db).get(jobId) ?? Promise.resolve();
}

/** A job row left running by a stopped process is failed: nothing runs it any more. */
function failOrphans(db: Db): void {
  const store = orgStore(db);
  const id = store.runningJob();
  if (id !== null && !jobsOf(db).has(id)) store.endJob(id, 4, 'the gateway stopped while the job ran; run it again', Date.now());
}

async function replaceAll(call: AppCall, deps: OpenApiDeps) {
  const db = deps.services.db;
  const req = await checkReplace(deps, input(call));
  failOrphans(db);
  const store = orgStore(db);
  const jobId = randomBytes(16).toString('hex');
  if (!store.startJob(jobId, call.app.rowId, 'org_replace_all', Date.now())) throw fail(ORG.SYNC_RUNNING, 'a full sync is already running');
  const jobs = jobsOf(db);
  const actor = `openapi:${call.app.appId ?? call.app.key}`;
  const run = (async () => {
    // after the reply: the caller learns the jobId first
    await new Promise<void>((r) => setImmediate(r));
    let outcome: ReplaceOutcome;
    try {
      const sum = await applyReplace(deps, req, actor, call.app.rowId);
      outcome = { jobId, errcode: 0, errmsg: summaryText(sum) };
      store.endJob(jobId, 3, outcome.errmsg, Date.now());
    } catch (e) {
      deps.log.error({ err: e, jobId }, 'org/replaceall failed');
      outcome = { jobId, errcode: REPLACE_FAILED_ERRCODE, errmsg: `the sync stopped: ${(e as Error).message}`.slice(0, 500) };
      store.endJob(jobId, 4, outcome.errmsg, Date.now());
    } finally {
      jobs.delete(jobId);
    }
    // the completion event (docs/apps-callbacks.md "Full-sync completion"), once getjobresult answers the result
    queueReplaceDone({ apps: deps.services.apps, callbacks: deps.services.appCallbacks, log: deps.log }, call.app.rowId, outcome, req.callback);
  })();
  jobs.set(jobId, run);
  return data({ jobId });
}

/** The org as a SQLite database (docs/open-api.md "Org file"), gzip-compressed. */
async function orgFile(deps: OpenApiDeps): Promise<Buffer> {
  const dir = deps.services.directory;
  const store = orgStore(deps.services.db);
  const out = new Database(':memory:');
  try {
    out.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE dept (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parentId INTEGER NOT NULL, sortId INTEGER NOT NULL, alias TEXT NOT NULL);
      CREATE TABLE user (gid INTEGER PRIMARY KEY, userId TEXT NOT NULL UNIQUE, name TEXT NOT NULL, gender INTEGER NOT NULL, mobile TEXT NOT NULL,
        phone TEXT NOT NULL, email TEXT NOT NULL, enableState INTEGER NOT NULL);
      CREATE TABLE user_dept (gid INTEGER NOT NULL, deptId INTEGER NOT NULL, position TEXT NOT NULL, weight INTEGER NOT NULL, sortId INTEGER NOT NULL,
        PRIMARY KEY (gid, deptId));`);
    const version = await dir.version();
    out.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('version', String(version));
    const insDept = out.prepare('INSERT INTO dept (id, name, parentId, sortId, alias) VALUES (?, ?, ?, ?, ?)');
    const insUser = out.prepare('INSERT INTO user (gid, userId, name, gender, mobile, phone, email, enableState) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const insUd = out.prepare('INSERT INTO user_dept (gid, deptId, position, weight, sortId) VALUES (?, ?, ?, ?, ?)');
    const depts = await dir.listDepts();
    const users = (await dir.searchUsers({ limit: 10_000_000 })).users.map((u) => userOut(u, store));
    out.transaction(() => {
      for (const d of depts) insDept.run(d.id, d.name, d.parentId ?? 0, d.order, store.alias(d.id));
      for (const u of users) {
        insUser.run(u.gid, u.userId, u.name, u.gender, u.mobile, u.phone, u.email, u.enableState);
        for (const d of u.deptDetail) insUd.run(u.gid, d.deptId, d.position, d.weight, d.sortId);
      }
    })();
    return gzipSync(out.serialize());
  } finally {
    out.close();
  }
}

const FILE_ID_RE = /^org-(\d{1,15})$/;

export const ORG_SYNC_ENDPOINTS: AppEndpoint[] = [
  { path: '/cgi/org/replaceall', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: replaceAll },
  {
    path: '/cgi/getjobresult', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const jobId = strOf(get(input(call), 'jobId'), ERR.BAD_REQUEST, 'jobId');
      if (jobId === undefined) throw fail(ERR.BAD_REQUEST, 'jobId is missing');
      failOrphans(deps.services.db);
      const job = orgStore(deps.services.db).job(jobId);
      if (!job) throw fail(ORG.JOB_NOT_FOUND, `no job ${jobId.slice(0, 64)}`);
      return data({ type: job.type, result: job.state, desc: job.state === 1 ? 'running' : job.desc });
    },
  },
  {
    // the spec names no XML shape for this body, so it cannot be read faithfully (docs/open-api.md)
    path: '/cgi/org/xmlsync', methods: ['POST'], auth: 'token', body: 'raw', rights: ORG_WRITE,
    handle: async () => {
      throw fail(ERR.INVALID_REQUEST, 'org/xmlsync is not supported: its XML format is not documented; use org/replaceall with the same data');
    },
  },
  {
    path: '/cgi/org/sqlitefile/query', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const p = input(call);
      if (get(p, 'userId') !== undefined) await userByAccount(deps.services.directory, get(p, 'userId'));
      const version = await deps.services.directory.version();
      return data({ fileId: `org-${version}`, version, generatingNew: false });
    },
  },
  {
    path: '/cgi/org/sqlitefile/download', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const fileId = strOf(get(input(call), 'fileId'), ERR.MEDIA_NOT_FOUND, 'fileId');
      const m = FILE_ID_RE.exec(fileId ?? '');
      if (!m) throw fail(ERR.MEDIA_NOT_FOUND, 'fileId is what org/sqlitefile/query answered');
      const version = await deps.services.directory.version();
      if (Number(m[1]) !== version) throw fail(ERR.MEDIA_NOT_FOUND, `the org changed since ${fileId}; query again`);
      const body = call.cipher.encrypt(await orgFile(deps));
      return { kind: 'raw', headers: { fileId: fileId as string, 'content-type': 'application/octet-stream' }, body };
    },
  },
];
