import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../gateway/src/config/load.js';
import type { Config } from '../../gateway/src/config/schema.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every listener on an ephemeral loopback port, quiet logs: a gateway config for in-process benchmarks. */
export function benchConfig(dataDir: string, overrides: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({
    env: {},
    overrides: {
      dataDir, 'http.port': 0, 'https.port': 0, 'tcp.port': 0, 'plugin.port': 0, 'rtxSdk.port': 0,
      'http.host': '127.0.0.1', 'https.host': '127.0.0.1', 'tcp.host': '127.0.0.1', 'plugin.host': '127.0.0.1', 'rtxSdk.host': '127.0.0.1',
      'log.level': 'silent',
      ...overrides,
    },
  });
}

export interface GatewayProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT (no trailing slash) */
  http: string;
  /** wss://127.0.0.1:PORT/ws */
  wss: string;
  pluginPort: number;
  stop(): Promise<void>;
}

/**
 * `huitong serve --data dataDir` in its own process, every listener on an
 * ephemeral loopback port; resolves once it printed its URLs. `profileDir`
 * writes a CPU profile there when it stops. `env` adds HUITONG_* settings.
 */
export async function startGatewayProcess(dataDir: string, opts: { env?: Record<string, string>; profileDir?: string } = {}): Promise<GatewayProcess> {
  const profile = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'gateway/src/cli/run.ts'), 'serve', '--data', dataDir], {
    cwd: ROOT,
    env: {
      ...process.env, HUITONG_HTTP_PORT: '0', HUITONG_HTTPS_PORT: '0', HUITONG_TCP_PORT: '0', HUITONG_PLUGIN_PORT: '0', HUITONG_RTX_SDK_PORT: '0',
      HUITONG_HTTP_HOST: '127.0.0.1', HUITONG_HTTPS_HOST: '127.0.0.1', HUITONG_TCP_HOST: '127.0.0.1', HUITONG_PLUGIN_HOST: '127.0.0.1', HUITONG_RTX_SDK_HOST: '127.0.0.1',
      HUITONG_LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/health\s+http/.test(out)) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`gateway exited ${c}: ${out}`)));
  });
  const http = (/server-info\s+(\S+)/.exec(out)?.[1] ?? '').replace('localhost', '127.0.0.1').replace(/\/$/, '');
  const wss = (/\(WSS\)\s+(\S+)/.exec(out)?.[1] ?? '').replace('localhost', '127.0.0.1');
  const pluginPort = Number(/RTX plugin channel\s+\S+:(\d+)/.exec(out)?.[1] ?? NaN);
  if (!http || !wss || !Number.isFinite(pluginPort)) throw new Error(`could not read the gateway's URLs from: ${out}`);
  return { proc, http, wss, pluginPort, stop: () => stopProcess(proc) };
}

/** SIGTERM, then waits for the exit (SIGKILL after `ms`). */
export async function stopProcess(proc: ChildProcess, ms = 15_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}
