import type { FastifyInstance } from 'fastify';
import { PROTOCOL_VERSION } from '../../protocol/client-v1.js';

export interface ListenerStatus {
  name: string;
  port: number | null;
  up: boolean;
  url: string | null;
}

export interface PublicDeps {
  version: string;
  publicHost: string;
  listeners(): ListenerStatus[];
  /** Runs a trivial query and resolves its latency in ms; rejects when the database is unusable. */
  pingDatabase(): Promise<number>;
  metricsText(): Promise<string>;
  ports(): { https: number | null; tcp: number | null; http: number | null };
}

/** /healthz, /api/server-info (F-9.4) and /metrics (Prometheus text) on the HTTP listener. */
export function registerPublicRoutes(app: FastifyInstance, deps: PublicDeps): void {
  app.get('/healthz', async (_req, reply) => {
    const listeners = deps.listeners();
    let database: { up: boolean; latencyMs?: number } = { up: false };
    try {
      database = { up: true, latencyMs: Math.round((await deps.pingDatabase()) * 1000) / 1000 };
    } catch {
      database = { up: false };
    }
    const ok = database.up && listeners.every((l) => l.up);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', version: deps.version, database, listeners });
  });

  app.get('/api/server-info', async (req) => {
    const host = deps.publicHost || (req.hostname ?? 'localhost').replace(/:\d+$/, '');
    const p = deps.ports();
    return {
      product: 'huitong',
      version: deps.version,
      protocolVersion: PROTOCOL_VERSION,
      host,
      websocket: p.https ? `wss://${host}:${p.https}/ws` : null,
      tcp: p.tcp ? `tls://${host}:${p.tcp}` : null,
      files: p.https ? `https://${host}:${p.https}/files` : null,
      console: p.http ? `http://${host}:${p.http}/` : null,
      /** The same console over TLS (its session cookie is Secure): what administrators should use off the appliance. */
      consoleHttps: p.https ? `https://${host}:${p.https}/` : null,
    };
  });

  app.get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4').send(await deps.metricsText()));
}

/** Formats metrics in the Prometheus text exposition format. */
export function promText(metrics: { name: string; help: string; type: 'counter' | 'gauge'; value: number; labels?: Record<string, string> }[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const m of metrics) {
    if (!seen.has(m.name)) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
      seen.add(m.name);
    }
    const labels = m.labels ? `{${Object.entries(m.labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : '';
    out.push(`${m.name}${labels} ${Number.isFinite(m.value) ? m.value : 0}`);
  }
  return out.join('\n') + '\n';
}
