import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = path.join(ROOT, 'gateway/src/cli/run.ts');

export interface ServerProcess {
  proc: ChildProcess;
  http: string;
  wss: string;
  tcp: string;
  output(): string;
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Runs the `huitong` CLI from source (tsx) and resolves its exit code and output. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  p.stdin.end(opts.input ?? '');
  const [code] = (await once(p, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Starts `huitong serve` as a real process on ephemeral ports and resolves once
 * it printed its URLs. Waits on the ready line, never on a timer.
 */
export async function startServerProcess(dataDir: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve', '--data', dataDir], {
    cwd: ROOT,
    env: { ...process.env, HUITONG_HTTP_PORT: '0', HUITONG_HTTPS_PORT: '0', HUITONG_TCP_PORT: '0', HUITONG_HTTP_HOST: '127.0.0.1', HUITONG_HTTPS_HOST: '127.0.0.1', HUITONG_TCP_HOST: '127.0.0.1', HUITONG_PLUGIN_PORT: '0', HUITONG_PLUGIN_HOST: '127.0.0.1', HUITONG_RTX_SDK_PORT: '0', HUITONG_RTX_SDK_HOST: '127.0.0.1', HUITONG_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/health\s+http/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${out}`));
    });
  });
  await ready;
  const grab = (re: RegExp) => (out.match(re)?.[1] ?? '').replace('localhost', '127.0.0.1');
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return {
    proc,
    http: grab(/open API, server-info\s+(\S+)/).replace(/\/$/, ''),
    wss: grab(/\(WSS\)\s+(\S+)/),
    tcp: grab(/\(TLS\)\s+(\S+)/),
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
