import { randomUUID } from 'node:crypto';
import type { AuthService } from '../../auth/service.js';
import type { SsoService } from '../../auth/sso.js';
import type { DirectoryService } from '../../directory/service.js';
import type { UserRecord } from '../../directory/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { MessagingService } from '../../messaging/service.js';
import { MAX_TEXT_CHARS, SYSTEM_APP, type UserId } from '../../protocol/client-v1.js';
import { buildRtxResponse, rtxError, rtxOk, type RtxParams } from '../../protocol/rtx-http.js';
import type { SessionRegistry } from '../../sessions/registry.js';
import type { SettingsStore } from '../../settings/settings.js';
import { notificationBody } from './markup.js';

/** The origin of every message that entered through the 8012 front. */
export const RTX_SDK_ORIGIN = 'rtx-sdk';
/** Ret Code of a user look-up naming an unknown account (the COM API's "no such user"). */
export const RET_NO_SUCH_USER = -984;
const MAX_TITLE_CHARS = 256;
/** Most accounts one call may name (receiver=all aside). */
export const MAX_RECEIVERS = 10_000;
const MSGID_RE = /^[A-Za-z0-9._:-]{1,40}$/;

/** What the endpoints use: services, never a socket. */
export interface RtxEndpointDeps {
  messaging: MessagingService;
  directory: DirectoryService;
  auth: AuthService;
  sso: SsoService;
  sessions: Pick<SessionRegistry, 'presenceOf'>;
  settings: SettingsStore;
}

/** One request as the endpoints see it. */
export interface RtxCall {
  params: RtxParams;
  method: string;
  address: string | null;
  keepAlive: boolean;
}

export type RtxEndpoint = (deps: RtxEndpointDeps, call: RtxCall) => Promise<Buffer>;

/** A refusal answered as GBK text `<text><br>`; thrown inside endpoints. */
class Refusal extends Error {
  constructor(
    readonly text: string,
    readonly retCode = -1,
  ) {
    super(text);
  }
}

/** A 1×1 GIF per presence state: offline grey, online green, away yellow. */
const gif = (r: number, g: number, b: number) =>
  Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([1, 0, 1, 0, 0x80, 0, 0, r, g, b, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b])]);
export const PRESENCE_GIFS = [gif(0x99, 0x99, 0x99), gif(0x22, 0xaa, 0x22), gif(0xee, 0xbb, 0x00)] as const;

/** A parameter as text; refuses bytes that are neither GBK/GB18030 nor UTF-8 (they decode to U+FFFD). */
function param(p: RtxParams, name: string): string | undefined {
  const v = p.get(name);
  if (v !== undefined && v.includes('\ufffd')) throw new Refusal(`参数${name}的编码无效(应为GBK或UTF-8)`);
  return v;
}

function accountsOf(raw: string | undefined): string[] {
  const list = [...new Set((raw ?? '').split(/[,;]/).map((s) => s.trim()).filter((s) => s.length > 0))];
  if (list.length > MAX_RECEIVERS) throw new Refusal(`接收人不能超过${MAX_RECEIVERS}个`);
  return list;
}

/** Resolves every account or refuses naming the unknown and unavailable ones (all-or-nothing). */
async function resolveAll(d: RtxEndpointDeps, accounts: string[]): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  const unknown: string[] = [];
  const disabled: string[] = [];
  const seen = new Set<number>();
  for (const a of accounts) {
    const u = await d.directory.getUserByAccount(a);
    if (!u) unknown.push(a);
    else if (u.status !== 'active') disabled.push(a);
    else if (!seen.has(u.id)) {
      seen.add(u.id);
      users.push(u);
    }
  }
  if (unknown.length > 0) throw new Refusal(`用户不存在:${unknown.join(',')}`);
  if (disabled.length > 0) throw new Refusal(`用户已停用:${disabled.join(',')}`);
  return users;
}

async function userNamed(d: RtxEndpointDeps, account: string | undefined, what: string): Promise<UserRecord> {
  if (!account || !account.trim()) throw new Refusal(`参数${what}不能为空`);
  const u = await d.directory.getUserByAccount(account.trim());
  if (!u) throw new Refusal(`用户不存在:${account.trim()}`, RET_NO_SUCH_USER);
  return u;
}

/** The origin id of a call: `rtxsdk:` + the caller's `msgid` (a gateway extension) or a random one. */
function originId(p: RtxParams): string {
  const given = param(p, 'msgid')?.trim();
  if (given && !MSGID_RE.test(given)) throw new Refusal('参数msgid无效(1-40个字母、数字或._:-)');
  return `rtxsdk:${given || randomUUID()}`;
}

/** Turns a service refusal into the GBK text a caller of the SDK understands. */
function refusalOf(e: GatewayError): Refusal {
  switch (e.code) {
    case 'GW_BAD_REQUEST':
      return new Refusal(`参数错误:${e.message}`);
    case 'GW_NOT_FOUND':
      return new Refusal(`不存在:${e.message}`);
    case 'GW_RECIPIENT_UNAVAILABLE':
      return new Refusal(`用户已停用:${e.message}`);
    case 'GW_NOT_MEMBER':
      return new Refusal('发送人不是该群成员');
    case 'GW_STORAGE_BUSY':
      return new Refusal('服务器忙,请稍后再试');
    case 'GW_SERVER_SHUTDOWN':
      return new Refusal('服务器正在停止,请稍后再试');
    default:
      return new Refusal(`操作失败:${e.code}`);
  }
}

/** Runs a SendNotify/SendIM-style endpoint: `操作成功!` or `<error><br>`. */
function okOrError(fn: RtxEndpoint): RtxEndpoint {
  return async (d, call) => {
    try {
      return await fn(d, call);
    } catch (e) {
      const r = e instanceof Refusal ? e : e instanceof GatewayError ? refusalOf(e) : null;
      if (!r) throw e;
      return rtxError(r.text, call.keepAlive, { retCode: r.retCode });
    }
  };
}

const sendNotify: RtxEndpoint = async (d, { params: p, keepAlive }) => {
  const receiver = (param(p, 'receiver') ?? '').trim();
  const msg = param(p, 'msg') ?? '';
  const title = (param(p, 'title') ?? '').trim() || '通知';
  // delaytime (how long the pop-up stays), okurl and errurl are accepted and ignored: see rtx-sdk-compat.md
  const list = accountsOf(receiver);
  if (list.length === 0) throw new Refusal('接收人不能为空');
  if (msg === '') throw new Refusal('消息内容不能为空');
  if (title.length > MAX_TITLE_CHARS) throw new Refusal(`标题不能超过${MAX_TITLE_CHARS}个字符`);
  const body = notificationBody(title, msg);
  if (!body) throw new Refusal(`消息内容不能超过${MAX_TEXT_CHARS}个字符`);
  const cmid = originId(p);
  const all = list.some((a) => a.toLowerCase() === 'all');
  const to: UserId[] | 'all' = all ? 'all' : (await resolveAll(d, list)).map((u) => u.id);
  await d.messaging.sendAsApp({ appId: SYSTEM_APP.id, cmid, to, kind: 'rich', body, origin: RTX_SDK_ORIGIN });
  return rtxOk(keepAlive);
};

const sendIm: RtxEndpoint = async (d, { params: p, keepAlive, address }) => {
  const senderName = (param(p, 'sender') ?? '').trim();
  const msg = param(p, 'msg') ?? '';
  if (!senderName) throw new Refusal('发送人不能为空');
  let sender: UserRecord | null;
  if (d.settings.get().rtxSdkImPassword === 'none') sender = await d.directory.getUserByAccount(senderName);
  else {
    try {
      sender = await d.auth.checkPassword(senderName, p.get('pwd') ?? '', address);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      if (e.code === 'GW_RATE_LIMITED' || e.code === 'GW_ACCOUNT_LOCKED') throw new Refusal('密码错误次数过多,请稍后再试');
      throw new Refusal(e.code === 'GW_AUTH_FAILED' ? '发送人或密码错误' : '发送人不可用');
    }
  }
  if (!sender) throw new Refusal(`用户不存在:${senderName}`);
  if (sender.status !== 'active') throw new Refusal(`用户已停用:${senderName}`);
  if (msg === '') throw new Refusal('消息内容不能为空');
  if (msg.length > MAX_TEXT_CHARS) throw new Refusal(`消息内容不能超过${MAX_TEXT_CHARS}个字符`);
  const cmid = originId(p);
  const sessionId = (param(p, 'sessionid') ?? '').trim();
  const group = sessionId ? await d.directory.groupByExternalId(sessionId) : null;
  const base = { senderId: sender.id, senderAccount: sender.account, kind: 'text', body: { text: msg }, origin: RTX_SDK_ORIGIN };
  if (group) {
    await d.messaging.send({ ...base, cmid, to: { kind: 'group', id: group.id } });
    return rtxOk(keepAlive);
  }
  const receivers = accountsOf(param(p, 'receivers') ?? param(p, 'receiver'));
  if (receivers.length === 0) throw new Refusal('接收人不能为空');
  const users = await resolveAll(d, receivers);
  // one 1:1 message per receiver, each de-duplicated by its own origin id
  await Promise.all(users.map((u) => d.messaging.send({ ...base, cmid: users.length === 1 ? cmid : `${cmid}.${u.id}`.slice(0, 64), to: { kind: 'user', id: u.id } })));
  return rtxOk(keepAlive);
};

const sendSms: RtxEndpoint = async () => {
  throw new Refusal('短信服务未配置');
};

/** A user look-up endpoint: text body on success, `用户不存在:x<br>` with Ret Code -984 otherwise. */
function lookup(name: string, fn: (d: RtxEndpointDeps, u: UserRecord, call: RtxCall) => Buffer): RtxEndpoint {
  return okOrError(async (d, call) => fn(d, await userNamed(d, param(call.params, name), name), call));
}

const presenceCode = (d: RtxEndpointDeps, u: UserRecord): 0 | 1 => (d.sessions.presenceOf(u.id).status === 'online' ? 1 : 0);

const getSession: RtxEndpoint = async (d, { params: p, keepAlive }) => {
  let user: UserRecord;
  try {
    user = await userNamed(d, param(p, 'receiver'), 'receiver');
    if (user.status !== 'active') throw new Refusal(`用户已停用:${user.account}`);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    return buildRtxResponse({ body: `${e.text}<br>`, retCode: -1, retString: e.text, extraHeaders: [['SessionKey', '']], keepAlive });
  }
  const { key } = d.sso.sessionKey(user);
  return buildRtxResponse({ body: key, retCode: 0, retString: '操作成功', extraHeaders: [['SessionKey', key]], keepAlive });
};

const login: RtxEndpoint = async (d, { params: p, keepAlive, address }) => {
  const user = p.get('user');
  const pwd = p.get('pwd');
  if (!user || pwd === undefined) return buildRtxResponse({ body: 'params is null', retCode: -1, retString: 'params is null', keepAlive });
  let retString = '用户名或密码错误';
  try {
    await d.auth.checkPassword(user.trim(), pwd, address);
    return buildRtxResponse({ body: 'true', retCode: 0, retString: '操作成功', keepAlive });
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    if (e.code === 'GW_RATE_LIMITED' || e.code === 'GW_ACCOUNT_LOCKED') retString = '尝试次数过多,请稍后再试';
    else if (e.code !== 'GW_AUTH_FAILED') retString = '用户不可用';
  }
  return buildRtxResponse({ body: 'false', retCode: -1, retString, keepAlive });
};

const signAuth: RtxEndpoint = async (d, { params: p, keepAlive }) => {
  const user = (p.get('user') ?? '').trim();
  // a signature holds no space: a space is an unescaped `+` that form decoding turned into one
  const sign = (p.get('sign') ?? '').trim().replace(/ /g, '+');
  const check = user && sign ? await d.sso.verify(user, sign) : 'bad';
  if (check === 'ok') return buildRtxResponse({ body: 'success!', retCode: 0, retString: '操作成功', keepAlive });
  return buildRtxResponse({ body: 'failed!', retCode: -1, retString: check === 'expired' ? '签名已过期' : '验证失败', keepAlive });
};

/** The endpoints by lower-cased path (paths match case-insensitively). */
export const RTX_ENDPOINTS: ReadonlyMap<string, RtxEndpoint> = new Map<string, RtxEndpoint>([
  ['/sendnotify.cgi', okOrError(sendNotify)],
  ['/sendim.cgi', okOrError(sendIm)],
  ['/sendsms.cgi', okOrError(sendSms)],
  ['/getsession.cgi', getSession],
  ['/getmobile.cgi', lookup('receiver', (_d, u, c) => buildRtxResponse({ body: u.mobile, retCode: 0, keepAlive: c.keepAlive }))],
  ['/getstatus.php', lookup('username', (d, u, c) => buildRtxResponse({ body: String(presenceCode(d, u)), retCode: 0, keepAlive: c.keepAlive }))],
  [
    '/getimage.cgi',
    async (d, call) => {
      if (call.method === 'POST') return rtxError('只支持GET', call.keepAlive);
      return lookup('receiver', (dd, u, c) =>
        buildRtxResponse({ body: PRESENCE_GIFS[presenceCode(dd, u)], retCode: 0, contentType: 'image/gif', keepAlive: c.keepAlive, headOnly: c.method === 'HEAD' }),
      )(d, call);
    },
  ],
  ['/login.php', login],
  ['/signauth.cgi', signAuth],
]);
