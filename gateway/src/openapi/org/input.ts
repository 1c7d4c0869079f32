import type { DirectoryService } from '../../directory/service.js';
import type { UserRecord } from '../../directory/types.js';
import type { UserId } from '../../protocol/client-v1.js';
import type { AppCall } from '../endpoint.js';
import { object, present } from '../endpoint.js';
import { CryptoError } from '../crypto.js';
import { ERR, fail } from '../errors.js';
import { ORG } from './codes.js';

/**
 * The fields of a call as one object: the query, overlaid with the decrypted
 * payload when there is one. Read and delete routes take GET or POST
 * (`body: 'raw'`, wire spec §8.6): a POST may carry the normal envelope, or no
 * body at all with the parameters in the query (AC's user/delete).
 */
export function input(call: AppCall): Record<string, unknown> {
  if (call.plain !== null) return { ...call.query, ...object(call.json()) };
  const text = call.body.toString('utf8').trim();
  if (call.method !== 'POST' || text === '') return { ...call.query };
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch {
    throw fail(ERR.BAD_JSON, 'the body is not JSON');
  }
  const encrypt = present(env, 'encrypt');
  if (encrypt === undefined) return { ...call.query, ...object(env) };
  if (typeof encrypt !== 'string') throw fail(ERR.ENCRYPT_NOT_STRING, 'encrypt must be a string');
  let r: { msg: Buffer; appId: string };
  try {
    r = call.cipher.decrypt(encrypt);
  } catch (e) {
    if (e instanceof CryptoError) throw fail(ERR.DECRYPT_FAILED, `encrypt could not be decrypted: ${e.message}`);
    throw e;
  }
  if (r.appId !== call.cipher.appId) throw fail(ERR.DECRYPT_FAILED, 'encrypt was made for another appId or with another key');
  let payload: unknown;
  try {
    payload = JSON.parse(r.msg.toString('utf8'));
  } catch {
    throw fail(ERR.BAD_JSON, 'the decrypted payload is not JSON');
  }
  return { ...call.query, ...object(payload) };
}

/**
 * An integer field: a JSON number, or a decimal string (query values always
 * are). Absent (null, '') → undefined; anything else → `bad`.
 */
export function intOf(v: unknown, bad: number, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim())) return Number(v.trim());
  throw fail(bad, `${what} must be an integer`);
}

export function mustInt(v: unknown, missing: number, bad: number, what: string): number {
  const n = intOf(v, bad, what);
  if (n === undefined) throw fail(missing, `${what} is missing`);
  return n;
}

/** A string field ('' and null count as absent); a number is taken as its decimal text. */
export function strOf(v: unknown, bad: number, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw fail(bad, `${what} must be a string`);
  return v;
}

export function arrayOf(v: unknown, bad: number, what: string): unknown[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (!Array.isArray(v)) throw fail(bad, `${what} must be an array`);
  return v;
}

export const USER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/** The open API's userId is the directory account; 300001 when nobody has it. */
export async function userByAccount(directory: DirectoryService, v: unknown, notFound: number = ORG.USER_NOT_EXIST): Promise<UserRecord> {
  const account = strOf(v, ORG.BAD_USER_ID, 'userId');
  if (account === undefined) throw fail(ORG.MISSING_USER_ID, 'userId is missing');
  const u = await directory.getUserByAccount(account);
  if (!u) throw fail(notFound, `no user ${account.slice(0, 64)}`);
  return u;
}

/** Accounts to user ids; every one must exist (`code` names the refusal). */
export async function usersByAccounts(directory: DirectoryService, list: unknown[], code: number): Promise<UserRecord[]> {
  const out: UserRecord[] = [];
  const missing: string[] = [];
  for (const a of list) {
    const u = typeof a === 'string' && a !== '' ? await directory.getUserByAccount(a) : null;
    if (u) out.push(u);
    else missing.push(String(a));
  }
  if (missing.length > 0) throw fail(code, `no user ${missing.slice(0, 10).join(', ')}`);
  return out;
}

export const idsOf = (users: UserRecord[]): UserId[] => [...new Set(users.map((u) => u.id))];

/** `present()` for a payload field by name. */
export const get = (o: unknown, name: string): unknown => present(o, name);
