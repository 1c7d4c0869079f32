import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleOptions {
  /** The console's build output (admin/dist): index.html and assets/. */
  distDir: string;
}

/** The policy of the console's pages: scripts only from this server; antd's CSS-in-JS needs inline styles. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Paths that belong to the server, never to the console (no SPA fallback for them). */
const SERVER_PREFIXES = ['/api', '/healthz', '/metrics', '/cgi'];

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Huitong 汇通</title></head>
<body><h1>管理控制台尚未构建 / The admin console is not built</h1>
<p>Run <code>npm run build:admin</code> on the appliance, then reload this page.</p></body></html>
`;

const HASHED_CACHE = 'public, max-age=31536000, immutable';

function isServerPath(p: string): boolean {
  return SERVER_PREFIXES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`) || p.startsWith(`${prefix}?`));
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer');
}

/**
 * The path of the request inside distDir, or null when it is not a plain,
 * safe path: any `..` segment (raw or percent-encoded), encoded slashes or
 * backslashes, NUL, or a result that would leave distDir.
 */
export function safeRelativePath(rawUrl: string): string | null {
  const rawPath = rawUrl.split('?')[0]!.split('#')[0]!;
  if (!rawPath.startsWith('/')) return null;
  // encoded dots, slashes, backslashes and NUL have no business in a console path
  if (/%2e|%2f|%5c|%00/i.test(rawPath)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return null;
  return segments.filter((s) => s !== '').join('/');
}

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Serves the admin console (admin/dist) on the HTTP listener: files at `/`,
 * index.html for `/` and for unknown GET paths that are not the server's own
 * (SPA fallback), a short "not built" page when dist is missing.
 * Register after the API routes; `/api/*`, `/healthz`, `/metrics`, `/cgi` are
 * left to the not-found handler.
 */
export function registerConsole(app: FastifyInstance, opts: ConsoleOptions): void {
  const distDir = path.resolve(opts.distDir);
  const indexPath = path.join(distDir, 'index.html');

  async function sendIndex(reply: FastifyReply): Promise<FastifyReply> {
    let html: Buffer;
    try {
      html = await readFile(indexPath);
    } catch {
      return securityHeaders(reply)
        .status(503)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT_PAGE);
    }
    return securityHeaders(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  }

  function notFound(_req: FastifyRequest, reply: FastifyReply): FastifyReply {
    reply.callNotFound();
    return reply;
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const rawPath = req.url.split('?')[0]!;
    if (isServerPath(rawPath)) return notFound(req, reply);
    const rel = safeRelativePath(req.url);
    if (rel === null) return notFound(req, reply);
    if (rel === '' || rel === 'index.html') return sendIndex(reply);

    const file = path.resolve(distDir, rel);
    if (!inside(distDir, file)) return notFound(req, reply);
    let isFile = false;
    try {
      const st = await stat(file);
      isFile = st.isFile();
      // a symlink inside dist must not lead outside it
      if (isFile && !inside(await realpath(distDir), await realpath(file))) return notFound(req, reply);
    } catch {
      isFile = false;
    }
    if (isFile) {
      const ext = path.extname(file).toLowerCase();
      const type = CONTENT_TYPES[ext] ?? 'application/octet-stream';
      const cache = rel.startsWith('assets/') ? HASHED_CACHE : 'no-cache';
      return securityHeaders(reply).header('cache-control', cache).type(type).send(await readFile(file));
    }
    // a missing asset or file with an extension is a plain 404, not the page
    if (rel.startsWith('assets/') || path.extname(rel) !== '') return notFound(req, reply);
    return sendIndex(reply);
  };

  app.get('/', handler);
  app.get('/*', handler);
}
