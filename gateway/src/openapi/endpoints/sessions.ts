import { randomBytes } from 'node:crypto';
import { AppMediaStore } from '../../apps/media.js';
import type { GroupRecord, UserRecord } from '../../directory/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { SqliteFileRepo } from '../../files/service.js';
import type { GroupId, SendableKind, UserId } from '../../protocol/client-v1.js';
import { data, ok, type AppCall, type AppEndpoint, type OpenApiDeps } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { ORG } from '../org/codes.js';
import { arrayOf, get, idsOf, input, strOf, userByAccount, usersByAccounts } from '../org/input.js';
import { newGuid, orgStore, type GuidRow } from '../org/store.js';
import { limitError, normGuid } from './groups.js';

/**
 * Multi-person sessions (会话; wire spec §3.3, §4.2; docs/open-api.md
 * "Sessions"): directory groups of origin `openapi-session` with the creator
 * as owner, so members' clients show them as group conversations. The API
 * knows them by a GUID (`{8AD595F3-…}`) and a version bumped on each change.
 * Messages go through the one messaging path as the sending user, origin
 * `openapi`.
 */

export const SESSION_ORIGIN = 'openapi-session';
export const MIN_SESSION_MEMBERS = 3;
const MAX_TITLE_CHARS = 64;

interface Session {
  row: GuidRow;
  group: GroupRecord;
}

async function sessionArg(deps: OpenApiDeps, v: unknown): Promise<Session> {
  const id = strOf(v, ERR.BAD_REQUEST, 'sessionId');
  if (id === undefined) throw fail(ERR.BAD_REQUEST, 'sessionId is missing');
  const row = orgStore(deps.services.db).byGuid(normGuid(id));
  const group = row?.kind === 'session' ? await deps.services.directory.getGroup(row.groupId as GroupId) : null;
  if (!row || !group) throw fail(ERR.BAD_REQUEST, `no session ${id.slice(0, 40)}`);
  return { row, group };
}

async function sessionOut(deps: OpenApiDeps, s: Session) {
  const dir = deps.services.directory;
  const row = orgStore(deps.services.db).byGuid(s.row.guid) ?? s.row;
  const group = (await dir.getGroup(s.group.id)) ?? s.group;
  const users = new Map((await dir.getUsers(group.memberIds)).map((u) => [u.id, u.account]));
  const owner = group.ownerId === null ? '' : (users.get(group.ownerId) ?? (await dir.getUser(group.ownerId))?.account ?? '');
  return { sessionId: row.guid, title: group.name, owner, version: row.version, type: row.type, member: group.memberIds.map((id) => users.get(id) ?? '').filter(Boolean) };
}

function titleOf(v: unknown, members: UserRecord[]): string {
  const t = strOf(v, ERR.BAD_REQUEST, 'title');
  if (t !== undefined && t.trim() !== '') return [...t.trim()].slice(0, MAX_TITLE_CHARS).join('');
  // no title: the first members' names, as clients name an untitled group
  return [...members.slice(0, 3).map((u) => u.name).join('、')].slice(0, MAX_TITLE_CHARS).join('');
}

function accounts(v: unknown, what: string): unknown[] {
  return arrayOf(v, ERR.BAD_REQUEST, what) ?? [];
}

async function create(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const creator = await userByAccount(dir, get(p, 'creator'));
  const type = strOf(get(p, 'type'), ERR.BAD_REQUEST, 'type') ?? 'multi';
  if (type !== 'multi') throw fail(ERR.BAD_REQUEST, 'type must be "multi"');
  const listed = await usersByAccounts(dir, accounts(get(p, 'member'), 'member'), ORG.USER_NOT_EXIST);
  const members = [creator, ...listed.filter((u) => u.id !== creator.id)];
  const unique = idsOf(members);
  if (unique.length < MIN_SESSION_MEMBERS) throw fail(ERR.BAD_REQUEST, `a session has at least ${MIN_SESSION_MEMBERS} members, the creator included`);
  const guid = newGuid();
  const g = await dir.createGroup(titleOf(get(p, 'title'), members), creator.id, unique, SESSION_ORIGIN, guid).catch(limitError);
  orgStore(deps.services.db).addGuid(guid, g.id, 'session', type);
  const out = await sessionOut(deps, await sessionArg(deps, guid));
  deps.services.sessionAudit.created(out, creator.account);
  return data(out);
}

async function update(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const s = await sessionArg(deps, get(p, 'sessionId'));
  const op = await userByAccount(dir, get(p, 'opUser'));
  if (!s.group.memberIds.includes(op.id)) throw fail(ERR.NO_PERMISSION, `${op.account} is not a member of the session`);
  const title = get(p, 'title') === undefined ? undefined : titleOf(get(p, 'title'), []);
  const addUsers = await usersByAccounts(dir, accounts(get(p, 'addMember'), 'addMember'), ORG.USER_NOT_EXIST);
  const delUsers = await usersByAccounts(dir, accounts(get(p, 'delMember'), 'delMember'), ORG.USER_NOT_EXIST);
  const add = idsOf(addUsers);
  const del = idsOf(delUsers);
  // who the change adds and removes, for the audit (a user in both lists ends up removed)
  const added = addUsers.filter((u) => !s.group.memberIds.includes(u.id) && !del.includes(u.id));
  const removed = delUsers.filter((u) => s.group.memberIds.includes(u.id));
  let changed = false;
  if (title !== undefined && title !== s.group.name) {
    await dir.renameGroup(s.group.id, title);
    changed = true;
  }
  if (add.some((id) => !s.group.memberIds.includes(id)) || del.some((id) => s.group.memberIds.includes(id))) {
    await dir.changeGroupMembers(s.group.id, add, del).catch(limitError);
    changed = true;
  }
  if (changed) orgStore(deps.services.db).bumpVersion(s.row.guid);
  const out = await sessionOut(deps, s);
  if (changed) {
    deps.services.sessionAudit.updated({
      sessionId: out.sessionId, version: out.version, owner: out.owner, title: out.title,
      addMember: [...new Set(added.map((u) => u.account))], delMember: [...new Set(removed.map((u) => u.account))],
    }, op.account);
  }
  return data(out);
}

/** A spec message body in the gateway's kinds: voice and video travel as files. */
async function bodyOf(call: AppCall, deps: OpenApiDeps, sender: UserRecord, p: Record<string, unknown>): Promise<{ kind: SendableKind; body: unknown }> {
  const msgType = strOf(get(p, 'msgType'), ERR.BAD_REQUEST, 'msgType');
  const inner = get(p, msgType ?? '');
  if (msgType === 'text') {
    const content = get(inner, 'content');
    if (typeof content !== 'string') throw fail(ERR.BAD_REQUEST, 'text.content is missing');
    return { kind: 'text', body: { text: content } };
  }
  if (msgType === 'image' || msgType === 'file' || msgType === 'voice' || msgType === 'video') {
    const mediaId = get(inner, 'media_id');
    if (typeof mediaId !== 'string') throw fail(ERR.BAD_REQUEST, `${msgType}.media_id is missing`);
    const media = new AppMediaStore(deps.services.db, deps.services.files).get(call.app, mediaId);
    if (!media) throw fail(ERR.MEDIA_NOT_FOUND, `no media ${mediaId.slice(0, 64)}`);
    // the app hands its file to the sender, who sends it as their own
    await new SqliteFileRepo(deps.services.db).record(media.fileId, media.size, sender.id);
    const name = strOf(get(inner, 'name'), ERR.BAD_REQUEST, 'name') ?? media.name;
    return { kind: msgType === 'image' ? 'image' : 'file', body: { fileId: media.fileId, name: name || media.mediaId, size: media.size } };
  }
  throw fail(ERR.BAD_REQUEST, 'msgType is text, image, file, voice or video');
}

async function send(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const sender = await userByAccount(dir, get(p, 'sender'));
  let to: { kind: 'group' | 'user'; id: number };
  if (get(p, 'sessionId') !== undefined) {
    const s = await sessionArg(deps, get(p, 'sessionId'));
    to = { kind: 'group', id: s.group.id };
  } else if (get(p, 'receiver') !== undefined) {
    to = { kind: 'user', id: (await userByAccount(dir, get(p, 'receiver'))).id };
  } else throw fail(ERR.BAD_REQUEST, 'sessionId or receiver is missing');
  const { kind, body } = await bodyOf(call, deps, sender, p);
  try {
    await deps.services.messaging.send({
      senderId: sender.id as UserId, senderAccount: sender.account, cmid: `openapi:${randomBytes(12).toString('hex')}`,
      to, kind, body, origin: 'openapi',
    });
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'GW_NOT_MEMBER') throw fail(ERR.NO_PERMISSION, `${sender.account} is not a member of the session`);
    if (e instanceof GatewayError && e.code === 'GW_RECIPIENT_UNAVAILABLE') throw fail(ORG.USER_NOT_EXIST, e.message);
    throw e;
  }
  return ok();
}

export const SESSION_ENDPOINTS: AppEndpoint[] = [
  { path: '/cgi/session/create', methods: ['POST'], auth: 'token', rights: ['session'], handle: create },
  {
    path: '/cgi/session/get', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ['session'],
    handle: async (call, deps) => data(await sessionOut(deps, await sessionArg(deps, get(input(call), 'sessionId')))),
  },
  { path: '/cgi/session/update', methods: ['POST'], auth: 'token', rights: ['session'], handle: update },
  { path: '/cgi/session/send', methods: ['POST'], auth: 'token', rights: ['session'], handle: send },
  {
    // the session audit hands out files as media ids of the monitor (media/get), never as
    // archives: no file_id names one, so every file_id is unknown (docs/open-api.md "Sessions")
    path: '/cgi/session/msg/download.zip', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: [],
    handle: async (call) => {
      const fileId = strOf(get(input(call), 'file_id'), ERR.BAD_REQUEST, 'file_id');
      if (fileId === undefined) throw fail(ERR.BAD_REQUEST, 'file_id is missing');
      throw fail(ERR.MEDIA_NOT_FOUND, `no message archive ${fileId.slice(0, 64)}`);
    },
  },
];
