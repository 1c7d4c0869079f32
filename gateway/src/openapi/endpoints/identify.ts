import type { Endpoint, OpenApiResult } from '../endpoint.js';

/** status.code of identify (wire spec §3.1). */
export const IDENTIFY_CODE = { OK: 0, BUSY: 1, BAD_REQUEST: 2, INVALID: 10 } as const;

/**
 * The identify token of a user: standard base64 of UTF-8 `account "\n" sign`,
 * where `sign` is a signature from the client request `sso.sign`
 * (docs/open-api.md "Identify"). A client makes it when opening a link whose
 * body says `sso: true` (a link sent with action 1) and appends
 * `userName=<account>&token=<this>` to the URL.
 */
export function identifyToken(account: string, sign: string): string {
  return Buffer.from(`${account}\n${sign}`, 'utf8').toString('base64');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** "YYYY-MM-DD hh:mm:ss" in the server's local time. */
function stamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const status = (code: number, message: string): OpenApiResult => ({ kind: 'plain', value: { status: { code, message, createdAt: stamp(new Date()) } } });

/**
 * GET /cgi/identify?token=: single sign-on for web apps (wire spec §3.1). Plain
 * JSON, no envelope, no accessToken. On success every userInfo key is sent,
 * gid included (the Java library needs them all).
 */
export const IDENTIFY_ENDPOINTS: Endpoint[] = [
  {
    path: '/cgi/identify',
    methods: ['GET', 'POST'],
    auth: 'none',
    handle: async (call, deps) => {
      const token = call.q('token');
      if (!token) return status(IDENTIFY_CODE.BAD_REQUEST, 'token is missing');
      // the token is base64 and travels unescaped: `+` stays `+` (the query is only percent-decoded)
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length > 2048) return status(IDENTIFY_CODE.INVALID, 'the token is invalid');
      const text = Buffer.from(token, 'base64').toString('utf8');
      const nl = text.indexOf('\n');
      if (nl <= 0) return status(IDENTIFY_CODE.INVALID, 'the token is invalid');
      const account = text.slice(0, nl);
      const check = await deps.services.sso.verify(account, text.slice(nl + 1));
      if (check === 'expired') return status(IDENTIFY_CODE.INVALID, 'the token has expired');
      if (check !== 'ok') return status(IDENTIFY_CODE.INVALID, 'the token is invalid');
      const u = await deps.services.directory.getUserByAccount(account);
      if (!u) return status(IDENTIFY_CODE.BUSY, 'no such user');
      const main = u.depts.find((d) => d.main) ?? u.depts[0];
      return {
        kind: 'plain',
        value: {
          status: { code: IDENTIFY_CODE.OK, message: 'ok', createdAt: stamp(new Date()) },
          userInfo: {
            gid: u.id, account: u.account, chsName: u.name, engName: '', gender: u.gender === 'female' ? 1 : 0,
            mobile: u.mobile, phone: u.phone, email: u.email,
            buin: deps.services.settings.get().openApiBuin, orgId: main ? main.deptId : 0, customAttr: '',
          },
        },
      };
    },
  },
];
