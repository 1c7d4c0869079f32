import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { CONSOLE_CSP, registerConsole, safeRelativePath } from '../../gateway/src/edges/http/console.js';

const INDEX = '<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/app-abc.js"></script></body></html>';
const ASSET = 'console.log("app-abc");';
const SECRET = '{"name":"secret-package-json-contents"}';

/** A temp tree: <root>/package.json (must never be served) and <root>/dist/{index.html,assets/app-abc.js}. */
function makeTree(withDist: boolean): { root: string; distDir: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'huitong-console-'));
  writeFileSync(path.join(root, 'package.json'), SECRET);
  const distDir = path.join(root, 'dist');
  if (withDist) {
    mkdirSync(path.join(distDir, 'assets'), { recursive: true });
    writeFileSync(path.join(distDir, 'index.html'), INDEX);
    writeFileSync(path.join(distDir, 'assets', 'app-abc.js'), ASSET);
    writeFileSync(path.join(distDir, 'robots.txt'), 'User-agent: *\nDisallow: /\n');
  }
  return { root, distDir };
}

/** One request over a socket, with the path exactly as given (no client-side normalisation). */
function rawGet(port: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

async function makeApp(distDir: string) {
  const app = Fastify({ logger: false });
  app.get('/api/x-real', async () => ({ ok: true }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerConsole(app, { distDir });
  await app.ready();
  return app;
}

t.test('index, assets, SPA fallback, server paths', async (t) => {
  const { root, distDir } = makeTree(true);
  const app = await makeApp(distDir);
  t.teardown(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  const index = await app.inject({ method: 'GET', url: '/' });
  t.equal(index.statusCode, 200);
  t.equal(index.body, INDEX);
  t.match(index.headers['content-type'], /^text\/html; charset=utf-8/);
  t.equal(index.headers['content-security-policy'], CONSOLE_CSP);
  t.match(String(index.headers['content-security-policy']), /frame-ancestors 'none'/);
  t.equal(index.headers['x-content-type-options'], 'nosniff');
  t.equal(index.headers['cache-control'], 'no-cache');

  const asset = await app.inject({ method: 'GET', url: '/assets/app-abc.js' });
  t.equal(asset.statusCode, 200);
  t.equal(asset.body, ASSET);
  t.match(asset.headers['content-type'], /^text\/javascript/);
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.equal(asset.headers['x-content-type-options'], 'nosniff');
  t.equal(asset.headers['content-security-policy'], CONSOLE_CSP);

  const withQuery = await app.inject({ method: 'GET', url: '/assets/app-abc.js?v=1' });
  t.equal(withQuery.body, ASSET, 'query strings are ignored');

  for (const url of ['/org', '/org/depts/12', '/login?next=%2Forg']) {
    const spa = await app.inject({ method: 'GET', url });
    t.equal(spa.statusCode, 200, `SPA fallback for ${url}`);
    t.equal(spa.body, INDEX);
    t.equal(spa.headers['cache-control'], 'no-cache');
    t.equal(spa.headers['content-security-policy'], CONSOLE_CSP);
  }

  const missingAsset = await app.inject({ method: 'GET', url: '/assets/nope-123.js' });
  t.equal(missingAsset.statusCode, 404, 'a missing asset is a 404, not the page');
  t.not(missingAsset.body, INDEX);

  for (const url of ['/api/x', '/api/admin/nothing', '/healthz/deep', '/metrics', '/cgi/foo', '/cgi']) {
    const r = await app.inject({ method: 'GET', url });
    t.equal(r.statusCode, 404, `${url} is not caught by the console`);
    t.not(r.body, INDEX);
    t.notOk(r.headers['content-security-policy'] === CONSOLE_CSP && r.body.includes('<html'), `${url} gets no page`);
  }
  const real = await app.inject({ method: 'GET', url: '/api/x-real' });
  t.same(real.json(), { ok: true }, 'API routes still answer');
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  t.same(health.json(), { status: 'ok' });

  const head = await app.inject({ method: 'HEAD', url: '/' });
  t.equal(head.statusCode, 200, 'HEAD works');
});

t.test('path traversal never leaves distDir', async (t) => {
  const { root, distDir } = makeTree(true);
  const app = await makeApp(distDir);
  t.teardown(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });
  const attempts = [
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/../../package.json',
    '/..%5cpackage.json',
    '/assets/..\\..\\package.json',
    '/%00',
    '/.%2e/package.json',
  ];
  for (const url of attempts) {
    const r = await app.inject({ method: 'GET', url });
    t.equal(r.statusCode, 404, `${url} → 404`);
    t.notOk(r.body.includes('secret-package-json-contents'), `${url} never gives file contents`);
    t.not(r.body, INDEX, `${url} is not answered with the page`);
  }
  // a file inside dist may be served: the checks are about leaving distDir
  const inside = await app.inject({ method: 'GET', url: '/robots.txt' });
  t.equal(inside.statusCode, 200);
  t.match(inside.headers['content-type'], /^text\/plain/);

  // inject() normalises dot segments like a browser; a raw socket does not
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  for (const url of attempts) {
    const { status, body } = await rawGet(port, url);
    t.equal(status, 404, `raw ${url} → 404`);
    t.notOk(body.includes('secret-package-json-contents'), `raw ${url} never gives file contents`);
  }

  t.equal(safeRelativePath('/a/b.js'), 'a/b.js');
  t.equal(safeRelativePath('/'), '');
  t.equal(safeRelativePath('/a/../b'), null);
  t.equal(safeRelativePath('/../package.json'), null);
  t.equal(safeRelativePath('/%2e%2e/package.json'), null);
  t.equal(safeRelativePath('/assets/..%2f..%2fpackage.json'), null);
  t.equal(safeRelativePath('/assets/..\\..\\package.json'), null);
  t.equal(safeRelativePath('/%E0%A4%A'), null, 'a malformed escape is refused');
});

t.test('missing dist → the "not built" page', async (t) => {
  const { root, distDir } = makeTree(false);
  const app = await makeApp(distDir);
  t.teardown(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });
  for (const url of ['/', '/org']) {
    const r = await app.inject({ method: 'GET', url });
    t.equal(r.statusCode, 503);
    t.match(r.headers['content-type'], /^text\/html/);
    t.match(r.body, /npm run build:admin/);
    t.match(r.body, /not built/);
    t.equal(r.headers['content-security-policy'], CONSOLE_CSP);
  }
  const api = await app.inject({ method: 'GET', url: '/api/x' });
  t.equal(api.statusCode, 404);
  const asset = await app.inject({ method: 'GET', url: '/assets/app-abc.js' });
  t.equal(asset.statusCode, 404);
});
