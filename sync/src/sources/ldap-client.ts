import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, NoSuchObjectError, ResultCodeError } from 'ldapts';
import type { LdapConfig } from './ldap-config.js';

/** TLS options for ldaps:// and StartTLS: the configured CA only, hostname checked. */
export function tlsOptions(cfg: LdapConfig): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: cfg.rejectUnauthorized, host: cfg.host, port: cfg.port, minVersion: 'TLSv1.2' };
  if (cfg.caPem) o.ca = [cfg.caPem];
  // SNI takes a host name, never an IP literal
  if (!isIP(cfg.host)) o.servername = cfg.host;
  return o;
}

/** A client connected (and upgraded with StartTLS when configured) but not bound. */
export async function connect(cfg: LdapConfig): Promise<Client> {
  const client = new Client({
    url: `${cfg.protocol}://${isIP(cfg.host) === 6 ? `[${cfg.host}]` : cfg.host}:${cfg.port}`,
    connectTimeout: cfg.connectTimeoutMs,
    timeout: cfg.timeoutMs,
    // ldapts speaks TLS from the first byte whenever tlsOptions are given, so only for ldaps://
    ...(cfg.protocol === 'ldaps' ? { tlsOptions: tlsOptions(cfg) } : {}),
    strictDN: false,
  });
  try {
    if (cfg.startTls) await client.startTLS(tlsOptions(cfg));
  } catch (e) {
    await close(client);
    throw e;
  }
  return client;
}

/**
 * A simple bind that can never be unauthenticated: an empty DN or password is
 * refused here, before anything is sent (RFC 4513 §5.1.2: a name with an empty
 * password is an "unauthenticated bind" that many servers accept).
 */
export async function safeBind(client: Client, dn: string, password: string): Promise<void> {
  if (!dn || !password) throw new InvalidCredentialsError('empty DN or password refused before binding');
  await client.bind(dn, password);
}

/** Connects and binds as the service account. */
export async function serviceClient(cfg: LdapConfig): Promise<Client> {
  const client = await connect(cfg);
  try {
    await safeBind(client, cfg.bindDn, cfg.bindPassword);
  } catch (e) {
    await close(client);
    throw e;
  }
  return client;
}

export async function close(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // already gone: nothing to release
  }
}

export type LdapFailureKind = 'dns' | 'tcp' | 'timeout' | 'tls' | 'credentials' | 'no-such-object' | 'filter' | 'server';

/** Sorts an error from ldapts / node into what an administrator can act on. */
export function classifyError(e: unknown): LdapFailureKind {
  if (e instanceof InvalidCredentialsError) return 'credentials';
  if (e instanceof NoSuchObjectError) return 'no-such-object';
  if (e instanceof ResultCodeError) return 'server';
  const err = e as { code?: unknown; message?: unknown };
  const code = String(err?.code ?? '');
  const msg = String(err?.message ?? '');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return 'dns';
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ECONNRESET' || code === 'EPIPE') return 'tcp';
  if (code === 'ETIMEDOUT' || /timeout|timed out/i.test(msg)) return 'timeout';
  if (/^ERR_TLS|^ERR_SSL|CERT|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO/.test(code) || /certificate|ssl|tls/i.test(msg)) return 'tls';
  if (/filter/i.test(msg)) return 'filter';
  return 'server';
}

/** A short, safe description of a TLS failure (never the raw error text). */
export function describeTlsError(e: unknown): string {
  const code = (e as { code?: string })?.code ?? '';
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' || code === 'UNABLE_TO_GET_ISSUER_CERT')
    return 'the server certificate is not signed by the configured CA';
  if (code === 'CERT_HAS_EXPIRED') return 'the server certificate has expired';
  if (code === 'CERT_NOT_YET_VALID') return 'the server certificate is not valid yet';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the server certificate does not name this host';
  if (/wrong version number|packet length too long|unknown protocol/i.test(String((e as Error)?.message))) return 'the server did not answer with TLS (wrong port, or ldaps:// vs ldap://)';
  return code ? `TLS handshake failed (${code})` : 'TLS handshake failed';
}
