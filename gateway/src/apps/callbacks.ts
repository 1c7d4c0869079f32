import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AppCipher } from '../openapi/crypto.js';
import type { AttemptOutcome } from './callbacks-types.js';
import { OutboundRefused, urlHost, vetHost, type HostResolver } from './ssrf.js';

/** How long one attempt may take, connection and answer together (docs/apps-callbacks.md "Timeouts"). */
export const CALLBACK_TIMEOUT_MS = 5000;
/** The most of an answer that is read; the acknowledgement is short. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Where and how one app's callbacks are sent. */
export interface CallbackTarget {
  url: string;
  token: string;
  buin: number;
  appId: string;
  cipher: AppCipher;
}

export interface AttemptResult {
  outcome: AttemptOutcome;
  httpStatus: number | null;
  detail: string | null;
  durationMs: number;
  /** The text of an HTTP 200 answer (at most 64 KiB), for callers that read the reply (the third-party login). */
  answer?: string;
}

export interface SendOptions {
  resolve: HostResolver;
  timeoutMs: number;
  signal: AbortSignal;
  refusePrivate?: boolean;
}

/** msg_signature of the wire spec §2: sha1 of the sorted token, timestamp, nonce and encrypt, lower-case hex. */
export function callbackSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

/**
 * Whether an answer acknowledges the callback (wire spec §6 "Reply"): HTTP 200
 * with the plaintext packageId, `ok` in any case, or JSON with errcode 0.
 */
export function isAcknowledged(status: number, body: string, packageId: string): boolean {
  if (status !== 200) return false;
  const t = body.trim();
  if (t === packageId || t.toLowerCase() === 'ok') return true;
  try {
    const j = JSON.parse(t) as { errcode?: unknown } | null;
    return !!j && typeof j === 'object' && (j.errcode === 0 || j.errcode === '0');
  } catch {
    return false;
  }
}

/**
 * One attempt: encrypts the payload afresh (new timestamp and nonce), checks
 * the host through the outbound guard, POSTs `?msg_signature&timestamp&nonce`
 * with `{toBuin, toApp, encrypt}` to the checked address, follows no
 * redirect, and reads at most 64 KiB of the answer. Never throws: every
 * failure is an outcome. An abort of `signal` (shutdown) rejects instead, so
 * the caller does not count it as an attempt.
 */
export async function sendCallback(target: CallbackTarget, plaintext: string, packageId: string, opts: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let u: URL;
  try {
    u = new URL(target.url);
  } catch {
    return { outcome: 'refused', httpStatus: null, detail: 'the callback URL is not a URL', durationMs: 0 };
  }
  let vetted: { address: string; family: 4 | 6 };
  try {
    vetted = await vetHost(u, opts.resolve, opts.refusePrivate ? { refusePrivate: true } : {});
  } catch (e) {
    if (e instanceof OutboundRefused) return { outcome: 'refused', httpStatus: null, detail: e.message, durationMs: took() };
    throw e;
  }
  if (opts.signal.aborted) throw opts.signal.reason;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString('hex');
  const encrypt = target.cipher.encrypt(plaintext);
  u.searchParams.set('msg_signature', callbackSignature(target.token, timestamp, nonce, encrypt));
  u.searchParams.set('timestamp', timestamp);
  u.searchParams.set('nonce', nonce);
  const body = JSON.stringify({ toBuin: target.buin, toApp: target.appId, encrypt });
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [vetted]);
    else cb(null, vetted.address, vetted.family);
  };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  const client = u.protocol === 'https:' ? https : http;
  return new Promise<AttemptResult>((resolveOnce, rejectOnce) => {
    let settled = false;
    const resolve = (r: AttemptResult) => {
      if (!settled) resolveOnce(r);
      settled = true;
    };
    const reject = (e: unknown) => {
      if (!settled) rejectOnce(e as Error);
      settled = true;
    };
    const req = client.request(u, {
      method: 'POST', lookup, signal, agent: false,
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'user-agent': 'huitong-callback' },
      ...(u.protocol === 'https:' ? { servername: urlHost(u) } : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        const loc = res.headers.location ?? '';
        let where = loc;
        try {
          const to = new URL(loc, u);
          where = to.host === u.host ? `${to.pathname} on the same host` : `another host (${to.host})`;
        } catch {
          // an unparsable Location is reported as sent
        }
        resolve({ outcome: 'redirect', httpStatus: status, detail: `redirect to ${where} not followed`.slice(0, 300), durationMs: took() });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= MAX_ANSWER_BYTES) return;
        chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
        if (status !== 200) resolve({ outcome: 'http_error', httpStatus: status, detail: `HTTP ${status}`, durationMs: took() });
        else if (isAcknowledged(status, text, packageId)) resolve({ outcome: 'acked', httpStatus: status, detail: null, durationMs: took(), answer: text });
        else resolve({ outcome: 'not_acked', httpStatus: status, detail: `the answer is not an acknowledgement: ${JSON.stringify(text.slice(0, 120))}`, durationMs: took(), answer: text });
      });
      res.on('error', (e) => settleError(e));
      // an answer cut off before its end (the peer closed, the timeout aborted it)
      res.on('close', () => settleError(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
    });
    const settleError = (e: unknown) => {
      if (opts.signal.aborted) return reject(opts.signal.reason);
      if (timeout.aborted) return resolve({ outcome: 'timeout', httpStatus: null, detail: `no answer within ${opts.timeoutMs} ms`, durationMs: took() });
      const code = (e as { code?: string }).code;
      resolve({ outcome: 'network', httpStatus: null, detail: `${code ?? 'error'}: ${(e as Error).message}`.slice(0, 300), durationMs: took() });
    };
    req.on('error', settleError);
    req.end(body);
  });
}
