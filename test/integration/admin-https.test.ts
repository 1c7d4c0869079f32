import { request } from 'node:https';
import t from 'tap';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the gateway's HTTPS listener, trusting its self-signed certificate. */
function httpsCall(gw: TestGateway, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(path, gw.https);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: gw.ca,
        checkServerIdentity: () => undefined,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), origin: gw.https, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

t.test('the console and its API are served over HTTPS too, where the session cookie is Secure', async (t) => {
  const gw = await startGateway(t);
  let r = await httpsCall(gw, 'GET', '/api/admin/setup');
  t.equal(r.status, 200);
  t.same(JSON.parse(r.body), { needsSetup: true }, 'the setup state is answered on 7443');

  r = await httpsCall(gw, 'POST', '/api/admin/setup/admin', { body: { username: 'root', password: 'root-password-1' } });
  t.equal(r.status, 201, 'the first administrator can be created over HTTPS: ' + r.body);
  const cookie = String(r.headers['set-cookie'] ?? '');
  t.match(cookie, /huitong_admin=/);
  t.match(cookie, /; Secure/, 'over HTTPS the session cookie is Secure');
  t.match(cookie, /HttpOnly/);

  r = await httpsCall(gw, 'GET', '/api/admin/me', { headers: { cookie: cookie.split(';')[0] as string } });
  t.equal(r.status, 200, 'the session works on the HTTPS listener');
  t.equal(JSON.parse(r.body).username, 'root');

  r = await httpsCall(gw, 'POST', '/api/admin/login', { body: { username: 'root', password: 'root-password-1' }, headers: { origin: 'https://evil.example' } });
  t.equal(r.status, 403, 'the Origin check guards the HTTPS listener as well');

  r = await httpsCall(gw, 'GET', '/org');
  t.equal(r.status === 200 || r.status === 503, true, 'console pages are answered (the page, or "not built")');
  t.match(String(r.headers['content-security-policy'] ?? ''), /default-src 'self'/, 'with the strict CSP');
});
