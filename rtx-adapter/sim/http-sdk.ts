import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import {
  RTX_IP_DENIED_TEXT,
  RtxHttpParseError,
  RtxHttpRequestParser,
  buildRtxResponse,
  extractRtxParams,
  normalizeRtxPath,
  rtxError,
  rtxOk,
  rtxParseErrorResponse,
  type RtxHttpRequest,
  type RtxParams,
} from '../../gateway/src/protocol/rtx-http.js';
import { guid, pairSessionKey, type RtxSimState, type SimUser } from './model.js';

/**
 * The simulated RTX HTTP SDK (port 8012) on a raw `net` server, using the shared codec so that
 * raw GBK bytes in the request line are answered like a real server would. Behaviour:
 * docs/rtx-sdk.md §2–3 and the decisions in docs/rtx-simulator.md.
 */

export interface HttpFaults {
  /** Delay before each answer, ms. */
  delayMs: number;
  /** Share of requests (0..1) answered with a failure. */
  errorRate: number;
  /** How a failure looks: an error text (HTTP 200), HTTP 500, or a reset connection. */
  errorKind: 'text' | 'status500' | 'reset';
  /** Down: every connection is reset at once. */
  down: boolean;
}

export interface HttpSdkOptions {
  /** Caller IPs allowed (SDKProperty.xml); default loopback only. '*' allows all. */
  allowIps?: string[];
  /** An empty SendNotify receiver broadcasts (⚠ reading 2) instead of failing (default false). */
  emptyReceiverBroadcast?: boolean;
  /** Check SendIM's pwd against the sender's password (default false: not checked). */
  checkImPassword?: boolean;
  /** Key signing the SignAuth signatures the simulator hands out. */
  signKey?: Buffer;
  /** Random source for fault injection (default Math.random). */
  random?: () => number;
}

export const MAX_SMS_RECEIVERS = 128;

/** A 1×1 GIF per presence state (offline grey, online green, away yellow). */
const GIF = (r: number, g: number, b: number) =>
  Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([1, 0, 1, 0, 0x80, 0, 0, r, g, b, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b])]);
export const PRESENCE_GIFS = [GIF(0x99, 0x99, 0x99), GIF(0x22, 0xaa, 0x22), GIF(0xee, 0xbb, 0x00)] as const;

type Handler = (p: RtxParams, req: RtxHttpRequest, ka: boolean) => Buffer;

export class RtxHttpSdk {
  readonly server: net.Server;
  faults: HttpFaults = { delayMs: 0, errorRate: 0, errorKind: 'text', down: false };
  allowIps: Set<string>;
  readonly signKey: Buffer;
  /** Requests answered, by lower-cased path (for tests and benches). */
  readonly hits = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  private readonly handlers = new Map<string, Handler>();
  private readonly sessionKeys = new Map<string, string>();

  constructor(
    private readonly state: RtxSimState,
    private readonly opts: HttpSdkOptions = {},
  ) {
    this.allowIps = new Set(opts.allowIps ?? ['127.0.0.1', '::1']);
    this.signKey = opts.signKey ?? randomBytes(16);
    this.server = net.createServer((s) => this.onConnection(s));
    const h: Record<string, Handler> = {
      'sendnotify.cgi': (p, _r, ka) => this.sendNotify(p, ka),
      'sendim.cgi': (p, _r, ka) => this.sendIm(p, ka),
      'getsession.cgi': (p, _r, ka) => this.getSession(p, ka),
      'getmobile.cgi': (p, _r, ka) => this.withUser(p.get('receiver'), ka, (u) => buildRtxResponse({ body: u.mobile, retCode: 0, keepAlive: ka })),
      'getimage.cgi': (p, r, ka) => this.getImage(p, r, ka),
      'login.php': (p, _r, ka) => this.login(p, ka),
      'signauth.cgi': (p, _r, ka) => this.signAuth(p, ka),
      'getstatus.php': (p, _r, ka) => this.withUser(p.get('username'), ka, (u) => buildRtxResponse({ body: String(this.state.getPresence(u.account)), retCode: 0, keepAlive: ka })),
      'sendsms.cgi': (p, _r, ka) => this.sendSms(p, ka),
    };
    for (const [k, v] of Object.entries(h)) this.handlers.set(`/${k}`, v);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A signature an RTX client would hand to a web page for SignAuth.cgi (base64, holds `+`/`/` often). */
  signFor(account: string): string {
    return createHmac('sha256', this.signKey).update(`rtx-sign:${account.toLowerCase()}`).digest('base64');
  }

  private onConnection(socket: net.Socket): void {
    if (this.faults.down) {
      socket.resetAndDestroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const allowed = this.allowIps.has('*') || this.allowIps.has(ip);
    const parser = new RtxHttpRequestParser();
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk) => {
      let reqs: RtxHttpRequest[];
      try {
        reqs = parser.push(chunk);
      } catch (err) {
        const res = err instanceof RtxHttpParseError ? rtxParseErrorResponse(err) : rtxError('bad request', false, { status: 400 });
        queue = queue.then(() => {
          if (!socket.destroyed) socket.end(res);
        });
        return;
      }
      for (const req of reqs) {
        queue = queue.then(() => this.answer(socket, req, allowed));
      }
    });
  }

  private async answer(socket: net.Socket, req: RtxHttpRequest, allowed: boolean): Promise<void> {
    if (socket.destroyed) return;
    const f = this.faults;
    if (f.delayMs > 0) await new Promise((r) => setTimeout(r, f.delayMs));
    if (socket.destroyed) return;
    const ka = req.keepAlive;
    let res: Buffer;
    if (f.down) {
      socket.resetAndDestroy();
      return;
    }
    if (f.errorRate > 0 && (this.opts.random ?? Math.random)() < f.errorRate) {
      if (f.errorKind === 'reset') {
        socket.resetAndDestroy();
        return;
      }
      res = f.errorKind === 'status500' ? rtxError('服务器内部错误', ka, { status: 500 }) : rtxError('服务器忙,请稍后再试', ka);
    } else if (!allowed) {
      res = rtxError(RTX_IP_DENIED_TEXT, ka);
    } else {
      const path = normalizeRtxPath(req.path);
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const handler = this.handlers.get(path);
      if (!handler) res = rtxError('Not Found', ka, { status: 404 });
      else if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') res = rtxError('Method Not Allowed', ka, { status: 405 });
      else {
        try {
          res = handler(extractRtxParams(req), req, ka);
        } catch (err) {
          res = rtxError(err instanceof Error ? err.message : '内部错误', ka);
        }
      }
    }
    if (req.httpVersion === '1.0') res = Buffer.concat([Buffer.from('HTTP/1.0', 'latin1'), res.subarray(8)]);
    if (ka) socket.write(res);
    else socket.end(res);
  }

  private receivers(raw: string | undefined): string[] {
    return (raw ?? '').split(/[,;]/).map((s) => s.trim()).filter((s) => s.length > 0);
  }

  /** Resolves accounts; all-or-nothing: an unknown account fails the whole call. */
  private resolve(accounts: string[]): { users: SimUser[]; unknown: string[] } {
    const users: SimUser[] = [];
    const unknown: string[] = [];
    const seen = new Set<string>();
    for (const a of accounts) {
      const u = this.state.user(a);
      if (!u) unknown.push(a);
      else if (!seen.has(u.account)) {
        seen.add(u.account);
        users.push(u);
      }
    }
    return { users, unknown };
  }

  private withUser(account: string | undefined, ka: boolean, fn: (u: SimUser) => Buffer): Buffer {
    if (!account) return rtxError('参数receiver不能为空', ka);
    const u = this.state.user(account);
    if (!u) return rtxError(`用户不存在:${account}`, ka, { retCode: -984 });
    return fn(u);
  }

  private sendNotify(p: RtxParams, ka: boolean): Buffer {
    const msg = p.get('msg') ?? '';
    const rawReceiver = (p.get('receiver') ?? '').trim();
    const title = p.get('title') || '通知';
    const delay = Number(p.get('delaytime') ?? 0);
    const list = this.receivers(rawReceiver);
    let broadcast = list.some((r) => r.toLowerCase() === 'all');
    if (list.length === 0) {
      if (!this.opts.emptyReceiverBroadcast) return rtxError('接收人不能为空', ka);
      broadcast = true;
    }
    if (msg === '') return rtxError('消息内容不能为空', ka);
    let targets: SimUser[];
    if (broadcast) targets = this.state.userList();
    else {
      const r = this.resolve(list);
      if (r.unknown.length > 0) return rtxError(`用户不存在:${r.unknown.join(',')}`, ka);
      targets = r.users;
    }
    const now = Date.now();
    for (const u of targets) this.state.deliverNotification(u.account, { title, text: msg, delay_ms: Number.isFinite(delay) ? delay : 0, broadcast, time_ms: now, via: 'http' });
    return rtxOk(ka);
  }

  private sendIm(p: RtxParams, ka: boolean): Buffer {
    const senderName = (p.get('sender') ?? '').trim();
    const msg = p.get('msg') ?? '';
    if (!senderName) return rtxError('发送人不能为空', ka);
    const sender = this.state.user(senderName);
    if (!sender) return rtxError(`用户不存在:${senderName}`, ka);
    if (this.opts.checkImPassword && (p.get('pwd') ?? '') !== sender.password) return rtxError('密码错误', ka);
    if (msg === '') return rtxError('消息内容不能为空', ka);
    const sessionId = (p.get('sessionid') ?? '').trim();
    const group = sessionId ? this.state.groupBySessionKey(sessionId) : undefined;
    let targets: SimUser[];
    if (group) {
      targets = group.members.filter((m) => m.toLowerCase() !== sender.account.toLowerCase()).map((m) => this.state.user(m)).filter((u): u is SimUser => !!u);
    } else {
      const list = this.receivers(p.get('receivers') ?? p.get('receiver'));
      if (list.length === 0) return rtxError('接收人不能为空', ka);
      const r = this.resolve(list);
      if (r.unknown.length > 0) return rtxError(`用户不存在:${r.unknown.join(',')}`, ka);
      targets = r.users;
    }
    const now = Date.now();
    const id = guid();
    for (const u of targets) {
      const key = group ? group.sessionKey : sessionId || pairSessionKey(sender.account, u.account);
      this.state.deliverIm(u.account, { im_message_id: id, sender: sender.account, text: msg, session_key: key, group_id: group?.id ?? null, time_ms: now, via: 'http' });
    }
    return rtxOk(ka);
  }

  private getSession(p: RtxParams, ka: boolean): Buffer {
    const account = p.get('receiver');
    const u = account ? this.state.user(account) : undefined;
    if (!u) {
      const text = account ? `用户不存在:${account}` : '参数receiver不能为空';
      return buildRtxResponse({ body: `${text}<br>`, retCode: -1, retString: text, extraHeaders: [['SessionKey', '']], keepAlive: ka });
    }
    let key = this.sessionKeys.get(u.account);
    if (!key) {
      key = randomBytes(16).toString('hex').toUpperCase();
      this.sessionKeys.set(u.account, key);
    }
    return buildRtxResponse({ body: key, retCode: 0, retString: '操作成功', extraHeaders: [['SessionKey', key]], keepAlive: ka });
  }

  private getImage(p: RtxParams, req: RtxHttpRequest, ka: boolean): Buffer {
    if (req.method === 'POST') return rtxError('只支持GET', ka);
    return this.withUser(p.get('receiver'), ka, (u) =>
      buildRtxResponse({ body: PRESENCE_GIFS[this.state.getPresence(u.account)], retCode: 0, contentType: 'image/gif', keepAlive: ka, headOnly: req.method === 'HEAD' }),
    );
  }

  private login(p: RtxParams, ka: boolean): Buffer {
    const user = p.get('user');
    const pwd = p.get('pwd');
    if (!user || pwd === undefined) return buildRtxResponse({ body: 'params is null', retCode: -1, retString: 'params is null', keepAlive: ka });
    const u = this.state.user(user);
    const ok = !!u && u.accountState === 0 && u.password === pwd;
    return buildRtxResponse({ body: ok ? 'true' : 'false', retCode: ok ? 0 : -1, retString: ok ? '操作成功' : '用户名或密码错误', keepAlive: ka });
  }

  private signAuth(p: RtxParams, ka: boolean): Buffer {
    const user = p.get('user');
    // A base64 signature never holds a space: a space is an unescaped `+` that form decoding turned into one.
    const sign = (p.get('sign') ?? '').replace(/ /g, '+');
    const u = user ? this.state.user(user) : undefined;
    const ok = !!u && sign.length > 0 && sign === this.signFor(u.account);
    return buildRtxResponse({ body: ok ? 'success!' : 'failed!', retCode: ok ? 0 : -1, retString: ok ? '操作成功' : '验证失败', keepAlive: ka });
  }

  private sendSms(p: RtxParams, ka: boolean): Buffer {
    const sender = (p.get('sender') ?? '').trim();
    const msg = p.get('msg') ?? '';
    let accounts = this.receivers(p.get('receiver'));
    const uins = this.receivers(p.get('receiveruin'));
    const unknown: string[] = [];
    for (const n of uins) {
      const u = this.state.userByUin(Number(n));
      if (u) accounts.push(u.account);
      else unknown.push(n);
    }
    accounts = [...new Set(accounts)];
    if (accounts.length + unknown.length === 0) return rtxError('接收人不能为空', ka);
    if (accounts.length + unknown.length > MAX_SMS_RECEIVERS) return rtxError(`接收人不能超过${MAX_SMS_RECEIVERS}个`, ka);
    if (msg === '') return rtxError('消息内容不能为空', ka);
    const r = this.resolve(accounts);
    unknown.push(...r.unknown);
    if (unknown.length > 0) return rtxError(`用户不存在:${unknown.join(',')}`, ka);
    const now = Date.now();
    for (const u of r.users) this.state.deliverSms(u.account, { sender, text: msg, time_ms: now });
    return rtxOk(ka);
  }
}
