import { lookup } from 'node:dns/promises';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { type Client, InvalidCredentialsError, NoSuchObjectError, ResultCodeError } from 'ldapts';
import type { ConnectionCheck } from '../source.js';
import { classifyError, close, connect, describeTlsError, safeBind, tlsOptions } from './ldap-client.js';
import type { LdapConfig } from './ldap-config.js';

/**
 * Stable codes for each outcome of "test connection", so the console can show
 * its own translation; `message` is English and `messageZh` Chinese, both safe
 * to show (no raw server text, never the password). docs/sync-ldap.md lists them.
 */
export type LdapCheckCode =
  | 'DNS_OK' | 'DNS_IP' | 'DNS_FAILED'
  | 'TCP_OK' | 'TCP_REFUSED' | 'TCP_TIMEOUT' | 'TCP_FAILED'
  | 'TLS_OK' | 'TLS_NONE' | 'TLS_FAILED' | 'STARTTLS_REFUSED'
  | 'BIND_OK' | 'BIND_REFUSED' | 'BIND_FAILED'
  | 'BASE_OK' | 'BASE_MISSING' | 'BASE_FAILED'
  | 'FILTER_OK' | 'FILTER_EMPTY' | 'FILTER_INVALID' | 'FILTER_FAILED';

export interface LdapCheckStep {
  step: ConnectionCheck['steps'][number]['step'];
  ok: boolean;
  code: LdapCheckCode;
  message: string;
  messageZh: string;
  ms: number;
}

export interface LdapConnectionCheck extends ConnectionCheck {
  steps: LdapCheckStep[];
}

class StepFailed extends Error {}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error(`${what} timed out`), { code: 'ETIMEDOUT' })), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });

/**
 * Tests an LDAP config step by step — DNS, TCP, TLS, bind, base DN, user
 * filter — and stops at the first failure. Each step says in plain words what
 * worked or what failed, with its duration. Never throws.
 */
export async function checkLdapConnection(cfg: Readonly<LdapConfig>): Promise<LdapConnectionCheck> {
  const steps: LdapCheckStep[] = [];
  const run = async (step: LdapCheckStep['step'], fn: () => Promise<[boolean, LdapCheckCode, string, string]>) => {
    const t0 = Date.now();
    let r: [boolean, LdapCheckCode, string, string];
    try {
      r = await fn();
    } catch (e) {
      // a step's fn maps the failures it expects; anything else is reported generically
      r = [false, `${step.toUpperCase()}_FAILED` as LdapCheckCode, `${step} failed unexpectedly (${classifyError(e)})`, `${step} 步骤意外失败（${classifyError(e)}）`];
    }
    steps.push({ step, ok: r[0], code: r[1], message: r[2], messageZh: r[3], ms: Date.now() - t0 });
    if (!r[0]) throw new StepFailed();
  };
  const host = cfg.host;
  const where = `${host}:${cfg.port}`;
  let address = host;
  let client: Client | null = null;
  try {
    await run('dns', async () => {
      if (isIP(host)) return [true, 'DNS_IP', `${host} is an IP address; no name lookup needed`, `${host} 是 IP 地址，无需域名解析`];
      try {
        const r = await withTimeout(lookup(host), cfg.connectTimeoutMs, 'DNS lookup');
        address = r.address;
        return [true, 'DNS_OK', `${host} resolves to ${r.address}`, `${host} 解析为 ${r.address}`];
      } catch {
        return [false, 'DNS_FAILED', `The host name ${host} could not be resolved (DNS). Check the spelling or the server's DNS settings.`, `无法解析主机名 ${host}（DNS）。请检查拼写或本机的 DNS 设置。`];
      }
    });
    await run('tcp', async () => {
      try {
        const sock = await withTimeout(
          new Promise<Socket>((resolve, reject) => {
            const s = tcpConnect(cfg.port, address);
            s.once('connect', () => resolve(s));
            s.once('error', reject);
          }),
          cfg.connectTimeoutMs,
          'TCP connect',
        );
        sock.destroy();
        return [true, 'TCP_OK', `Connected to ${where}`, `已连接到 ${where}`];
      } catch (e) {
        const code = String((e as { code?: unknown }).code ?? '');
        if (code === 'ECONNREFUSED') return [false, 'TCP_REFUSED', `Nothing is listening on ${where} (connection refused). Check the port and that the directory service runs.`, `${where} 拒绝连接。请检查端口以及目录服务是否在运行。`];
        if (code === 'ETIMEDOUT') return [false, 'TCP_TIMEOUT', `No answer from ${where} within ${cfg.connectTimeoutMs} ms (a firewall may drop the traffic).`, `${cfg.connectTimeoutMs} 毫秒内 ${where} 无响应（可能被防火墙拦截）。`];
        return [false, 'TCP_FAILED', `Could not connect to ${where} (${code || 'network error'}).`, `无法连接到 ${where}（${code || '网络错误'}）。`];
      }
    });
    await run('tls', async () => {
      if (cfg.protocol === 'ldaps') {
        try {
          const s = await withTimeout(
            new Promise<TLSSocket>((resolve, reject) => {
              const sock = tlsConnect({ ...tlsOptions(cfg), host: address, port: cfg.port, ...(isIP(host) ? {} : { servername: host }) });
              sock.once('secureConnect', () => resolve(sock));
              sock.once('error', reject);
            }),
            cfg.connectTimeoutMs,
            'TLS handshake',
          );
          const proto = s.getProtocol();
          s.destroy();
          return [true, 'TLS_OK', `TLS (${proto}) established and the server certificate verified`, `TLS（${proto}）已建立，服务器证书验证通过`];
        } catch (e) {
          const why = describeTlsError(e);
          return [false, 'TLS_FAILED', `TLS failed: ${why}.`, `TLS 失败：${zhTls(why)}。`];
        }
      }
      if (cfg.startTls) {
        try {
          client = await connect(cfg);
          return [true, 'TLS_OK', 'StartTLS succeeded and the server certificate verified', 'StartTLS 成功，服务器证书验证通过'];
        } catch (e) {
          if (e instanceof ResultCodeError) return [false, 'STARTTLS_REFUSED', 'The server refused StartTLS (TLS may not be configured on it).', '服务器拒绝 StartTLS（服务器可能未配置 TLS）。'];
          const why = describeTlsError(e);
          return [false, 'TLS_FAILED', `StartTLS failed: ${why}.`, `StartTLS 失败：${zhTls(why)}。`];
        }
      }
      return [true, 'TLS_NONE', 'No TLS: plain ldap:// sends the bind password unencrypted; prefer ldaps:// or StartTLS.', '未使用 TLS：ldap:// 明文传输绑定密码，建议使用 ldaps:// 或 StartTLS。'];
    });
    await run('bind', async () => {
      try {
        client ??= await connect(cfg);
        await safeBind(client, cfg.bindDn, cfg.bindPassword);
        return [true, 'BIND_OK', `Bound as ${cfg.bindDn}`, `已以 ${cfg.bindDn} 绑定`];
      } catch (e) {
        if (e instanceof InvalidCredentialsError) return [false, 'BIND_REFUSED', 'The directory refused the bind DN or password.', '目录服务拒绝了绑定 DN 或密码。'];
        const kind = classifyError(e);
        return [false, 'BIND_FAILED', `The bind failed (${kind === 'server' ? ((e as Error).name || 'server error') : kind}).`, `绑定失败（${kind}）。`];
      }
    });
    const c = client as Client | null;
    if (!c) throw new StepFailed();
    await run('base', async () => {
      try {
        await c.search(cfg.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
        return [true, 'BASE_OK', `The base DN ${cfg.baseDn} exists`, `基准 DN ${cfg.baseDn} 存在`];
      } catch (e) {
        if (e instanceof NoSuchObjectError) return [false, 'BASE_MISSING', `The base DN ${cfg.baseDn} does not exist (or the service account may not see it).`, `基准 DN ${cfg.baseDn} 不存在（或服务账号无权查看）。`];
        return [false, 'BASE_FAILED', `Reading the base DN failed (${(e as Error).name || 'error'}).`, `读取基准 DN 失败（${(e as Error).name || 'error'}）。`];
      }
    });
    await run('filter', async () => {
      let found: string | null = null;
      try {
        const r = await c.search(cfg.baseDn, { scope: 'sub', filter: cfg.userFilter, attributes: ['1.1'], sizeLimit: 1 });
        found = r.searchEntries[0]?.dn ?? null;
      } catch (e) {
        const name = (e as Error).name;
        if (name === 'SizeLimitExceededError') found = '(several)';
        else if (name === 'FilterParserError' || /filter/i.test((e as Error).message)) return [false, 'FILTER_INVALID', 'The user filter is not valid LDAP filter syntax.', '用户过滤器不是有效的 LDAP 过滤器语法。'];
        else return [false, 'FILTER_FAILED', `Searching with the user filter failed (${name || 'error'}).`, `使用用户过滤器搜索失败（${name || 'error'}）。`];
      }
      if (!found) return [false, 'FILTER_EMPTY', `The user filter ${cfg.userFilter} matches no entries under ${cfg.baseDn}.`, `用户过滤器 ${cfg.userFilter} 在 ${cfg.baseDn} 下没有匹配到任何条目。`];
      return [true, 'FILTER_OK', `The user filter finds users${found !== '(several)' ? ` (e.g. ${found})` : ''}`, `用户过滤器可以找到用户${found !== '(several)' ? `（例如 ${found}）` : ''}`];
    });
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
  } finally {
    const c = client as Client | null;
    if (c) await close(c);
  }
  return { ok: steps.length === 6 && steps.every((s) => s.ok), steps };
}

function zhTls(why: string): string {
  if (why.includes('not signed by the configured CA')) return '服务器证书不是由所配置的 CA 签发的';
  if (why.includes('expired')) return '服务器证书已过期';
  if (why.includes('not valid yet')) return '服务器证书尚未生效';
  if (why.includes('does not name this host')) return '服务器证书与主机名不符';
  if (why.includes('did not answer with TLS')) return '服务器未使用 TLS 应答（端口错误，或 ldaps:// 与 ldap:// 混用）';
  return 'TLS 握手失败';
}
