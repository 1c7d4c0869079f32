import net from 'node:net';
import iconv from 'iconv-lite';
import { decodeRetString, encodeRtxForm } from '../../gateway/src/protocol/rtx-http.js';
import { RtxPortError, presenceFromCode, type ImToRtx, type NotifyToRtx, type PresencePort, type PresenceState, type SenderPort } from './ports.js';

/**
 * Client of the RTX HTTP SDK (port 8012, docs/rtx-sdk.md §2–3): SendIM, SendNotify, getstatus,
 * GetMobile. Parameters go as percent-encoded GBK (GB18030, so characters outside GB2312 are
 * kept); answers are GBK text, `操作成功` means success, anything else is an error text ending
 * in `<br>`; a `Ret Code` header is used when the server sends one.
 *
 * It speaks HTTP/1.1 itself over a raw socket, one connection per request
 * (`Connection: close`): a real RTX_HTTPServer sends header names with spaces (`Ret Code`),
 * which Node's own HTTP parser refuses. Sends use POST with the form in the body (the stock
 * scripts read the body when the query is empty), so long texts never hit a request-line limit.
 */

export const SDK_DEFAULT_TIMEOUT_MS = 5_000;
export const SDK_MAX_RESPONSE_BYTES = 1024 * 1024;
/** The success text of SendIM / SendNotify (`操作成功!`). */
export const SDK_OK_TEXT = '操作成功';

export interface SdkClientOptions {
  /** `http://rtx-host:8012` (a path prefix is kept). */
  url: string;
  /** Per request: connect + answer. Default 5 s. */
  timeoutMs?: number;
  /** SendIM `pwd` (⚠ not checked by stock servers; empty by default). */
  imPassword?: string;
}

/** One answer of the SDK, decoded. */
export interface SdkAnswer {
  status: number;
  headers: Array<[string, string]>;
  /** `Ret Code` header, when present and numeric. */
  retCode: number | null;
  /** `Ret String` header, URL-decoded GBK, when present. */
  retString: string | null;
  /** The body decoded as GBK (GB18030). */
  text: string;
  /** The body held bytes that are not GBK (decoded as U+FFFD). */
  badEncoding: boolean;
}

/** Parses a complete raw HTTP answer (head + body up to Content-Length, or to the end). Throws RtxPortError BAD_ANSWER. */
export function parseSdkResponse(raw: Buffer): SdkAnswer {
  let headEnd = raw.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (headEnd < 0) {
    headEnd = raw.indexOf('\n\n');
    sepLen = 2;
  }
  if (headEnd < 0) throw new RtxPortError('BAD_ANSWER', 'the RTX server closed the connection before a complete HTTP answer');
  const lines = raw.subarray(0, headEnd).toString('latin1').split(/\r?\n/);
  const m = /^HTTP\/\d\.\d\s+(\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new RtxPortError('BAD_ANSWER', `not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const headers = lines.slice(1).filter((l) => l.includes(':')).map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
  });
  const header = (name: string) => headers.find(([k]) => k.toLowerCase() === name)?.[1];
  let body = raw.subarray(headEnd + sepLen);
  const len = header('content-length');
  if (len !== undefined && /^\d+$/.test(len)) {
    if (body.length < Number(len)) throw new RtxPortError('BAD_ANSWER', `the RTX server's answer was cut short (${body.length} of ${len} bytes)`);
    body = body.subarray(0, Number(len));
  }
  const rc = header('ret code');
  const rs = header('ret string');
  const text = iconv.decode(body, 'gb18030');
  return {
    status: Number(m[1]),
    headers,
    retCode: rc !== undefined && /^-?\d+$/.test(rc) ? Number(rc) : null,
    retString: rs !== undefined ? decodeRetString(rs) : null,
    text,
    badEncoding: text.includes('\uFFFD'),
  };
}

/** The error text of a failure body: `<br>` and other tags removed, trimmed. */
export function sdkErrorText(text: string): string {
  return text.replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
}

/**
 * Classifies the answer of an action (SendIM, SendNotify): resolves for `操作成功`, else throws
 * an RtxPortError whose kind says whether to retry.
 */
export function checkSdkAction(a: SdkAnswer, what: string): void {
  if (a.status >= 500) throw new RtxPortError('UNREACHABLE', `${what}: the RTX server answered HTTP ${a.status}`, [], a.retCode ?? undefined);
  if (a.status === 404) throw new RtxPortError('REFUSED', `${what}: the RTX server has no such endpoint (HTTP 404) — is this the RTX HTTP SDK on 8012?`);
  if (a.status !== 200) throw new RtxPortError('REFUSED', `${what}: the RTX server answered HTTP ${a.status}`);
  if (a.text.includes(SDK_OK_TEXT) && (a.retCode === null || a.retCode === 0)) return;
  throw sdkFailure(a, what);
}

/** The RtxPortError an error answer means. */
export function sdkFailure(a: SdkAnswer, what: string): RtxPortError {
  const msg = sdkErrorText(a.text) || (a.retString ?? '');
  const rc = a.retCode ?? undefined;
  if (a.badEncoding && !msg.includes('用户不存在')) return new RtxPortError('BAD_ANSWER', `${what}: the RTX server's answer is not GBK text`, [], rc);
  const unknown = /用户不存在\s*[:：]?\s*([^<]*)/.exec(msg);
  if (unknown || rc === -984) {
    const accounts = (unknown?.[1] ?? '').split(/[,;，；]/).map((s) => s.trim()).filter((s) => s.length > 0);
    return new RtxPortError('UNKNOWN_USER', `${what}: RTX does not know ${accounts.length > 0 ? accounts.join(', ') : 'the user'}`, accounts, rc);
  }
  if (/服务器忙|稍后再试|busy/i.test(msg)) return new RtxPortError('UNREACHABLE', `${what}: the RTX server is busy (${msg})`, [], rc);
  if (msg.includes('IP受限制')) return new RtxPortError('REFUSED', `${what}: the RTX server refuses this host's IP (add it to SDKProperty.xml)`, [], rc);
  if (/不能为空|不能超过/.test(msg)) return new RtxPortError('BAD_REQUEST', `${what}: RTX refused the request: ${msg}`, [], rc);
  if (msg === '') return new RtxPortError('BAD_ANSWER', `${what}: the RTX server gave an empty answer`, [], rc);
  return new RtxPortError('REFUSED', `${what}: RTX refused: ${msg.slice(0, 200)}`, [], rc);
}

export class SdkClient implements SenderPort, PresencePort {
  readonly name = 'sdk' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: SdkClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new Error(`not a URL: ${opts.url}`);
    }
    if (u.protocol !== 'http:') throw new Error(`the RTX HTTP SDK is plain HTTP: expected http://host:8012, got ${opts.url}`);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = u.port ? Number(u.port) : 8012;
    this.prefix = u.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? SDK_DEFAULT_TIMEOUT_MS;
  }

  /** One request; resolves the decoded answer or throws RtxPortError (UNREACHABLE for network failures and timeouts). */
  request(method: 'GET' | 'POST', endpoint: string, params: Record<string, string | number>, signal?: AbortSignal): Promise<SdkAnswer> {
    const form = encodeRtxForm(params);
    const target = `${this.prefix}/${endpoint}${method === 'GET' && form ? `?${form}` : ''}`;
    const hostHeader = `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    const head =
      `${method} ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: huitong-rtx-adapter\r\nConnection: close\r\n` +
      (method === 'POST' ? `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(form)}\r\n` : '') +
      '\r\n';
    const what = endpoint;
    return new Promise<SdkAnswer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const socket = net.connect({ host: this.host, port: this.port });
      const finish = (err: RtxPortError | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if (err) return reject(err);
        try {
          resolve(parseSdkResponse(Buffer.concat(chunks)));
        } catch (e) {
          reject(e instanceof RtxPortError ? e : new RtxPortError('BAD_ANSWER', `${what}: unreadable answer`));
        }
      };
      const timer = setTimeout(() => finish(new RtxPortError('UNREACHABLE', `${what}: no answer from the RTX server within ${this.timeoutMs} ms`)), this.timeoutMs);
      const onAbort = () => finish(new RtxPortError('UNREACHABLE', `${what}: cancelled`));
      if (signal?.aborted) return finish(new RtxPortError('UNREACHABLE', `${what}: cancelled`));
      signal?.addEventListener('abort', onAbort, { once: true });
      // write, not end: a server that is not half-open aware would close before answering
      socket.on('connect', () => socket.write(method === 'POST' ? head + form : head));
      socket.on('data', (c: Buffer) => {
        size += c.length;
        if (size > SDK_MAX_RESPONSE_BYTES) return finish(new RtxPortError('BAD_ANSWER', `${what}: answer larger than ${SDK_MAX_RESPONSE_BYTES} bytes`));
        chunks.push(c);
        // complete once Content-Length bytes are in (servers may keep the connection open)
        const buf = Buffer.concat(chunks);
        const end = buf.indexOf('\r\n\r\n');
        if (end >= 0) {
          const len = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
          if (len && buf.length >= end + 4 + Number(len[1])) finish(null);
        }
      });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (chunks.length > 0 && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return finish(null);
        finish(new RtxPortError('UNREACHABLE', `${what}: cannot reach the RTX server at ${hostHeader} (${e.code ?? e.message})`));
      });
      socket.on('close', () => {
        if (chunks.length === 0) finish(new RtxPortError('UNREACHABLE', `${what}: the RTX server closed the connection without answering`));
        else finish(null);
      });
    });
  }

  async sendIm(m: ImToRtx, signal?: AbortSignal): Promise<void> {
    if (m.receivers.length === 0) throw new RtxPortError('BAD_REQUEST', 'SendIM: no receivers');
    const a = await this.request('POST', 'SendIM.cgi', { sender: m.sender, pwd: this.opts.imPassword ?? '', receivers: m.receivers.join(';'), msg: m.text, sessionid: m.sessionKey }, signal);
    checkSdkAction(a, 'SendIM');
  }

  async sendNotify(n: NotifyToRtx, signal?: AbortSignal): Promise<void> {
    if (n.receivers.length === 0) throw new RtxPortError('BAD_REQUEST', 'SendNotify: no receivers');
    const a = await this.request('POST', 'SendNotify.cgi', { receiver: n.receivers.join(','), title: n.title || '通知', msg: n.text, delaytime: n.delayMs ?? 0 }, signal);
    checkSdkAction(a, 'SendNotify');
  }

  /** getstatus.php: 0 offline, 1 online, 2 away. Throws UNKNOWN_USER for an account RTX does not know. */
  async getStatus(account: string, signal?: AbortSignal): Promise<PresenceState> {
    const a = await this.request('GET', 'getstatus.php', { username: account }, signal);
    const body = a.text.trim();
    if (a.status === 200 && /^[012]$/.test(body) && (a.retCode === null || a.retCode === 0)) return presenceFromCode(Number(body));
    if (a.status >= 500) throw new RtxPortError('UNREACHABLE', `getstatus: the RTX server answered HTTP ${a.status}`);
    throw sdkFailure(a, 'getstatus');
  }

  /** GetMobile.cgi: the user's mobile number ('' when none). */
  async getMobile(account: string, signal?: AbortSignal): Promise<string> {
    const a = await this.request('GET', 'GetMobile.cgi', { receiver: account }, signal);
    if (a.status >= 500) throw new RtxPortError('UNREACHABLE', `GetMobile: the RTX server answered HTTP ${a.status}`);
    const ok = a.retCode !== null ? a.retCode === 0 : !/<br\s*\/?>\s*$/i.test(a.text) && !a.text.includes('用户不存在');
    if (a.status === 200 && ok && !a.badEncoding) return a.text.trim();
    throw sdkFailure(a, 'GetMobile');
  }

  /**
   * Presence through getstatus, one request per account (at most `concurrency` at once): the
   * SDK has no bulk call, so this is expensive for large orgs — prefer the COM helper's
   * presence.online. Accounts RTX does not know are skipped.
   */
  async poll(accounts: readonly string[], signal?: AbortSignal, concurrency = 8): Promise<Map<string, PresenceState>> {
    const out = new Map<string, PresenceState>();
    let i = 0;
    const worker = async () => {
      while (i < accounts.length) {
        const account = accounts[i++] as string;
        try {
          const s = await this.getStatus(account, signal);
          if (s !== 'offline') out.set(account, s);
        } catch (e) {
          if (!(e instanceof RtxPortError) || e.kind !== 'UNKNOWN_USER') throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, worker));
    return out;
  }
}
