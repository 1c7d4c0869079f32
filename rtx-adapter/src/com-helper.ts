import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  HELPER_PROTOCOL_VERSION,
  HelperLineType,
  HelperMethod,
  MAX_CAPTURE_WAIT_MS,
  MAX_HELPER_LINE_BYTES,
  encodeHelperLine,
  type HelperCapability,
  type HelperError,
  type HelperParams,
  type HelperResults,
  type MessageEventData,
  type ReadyLine,
} from './helper-protocol.js';
import { RtxPortError, type RtxFailureKind } from './ports.js';

/**
 * Drives the COM helper on the RTX host over its stdin/stdout with the JSON-line contract of
 * docs/protocol/rtx-helper.md: `cscript //nologo //U rtx-helper.js` on Windows, or any command
 * (the simulator's helper-main.ts in tests). Requests carry increasing ids and their own
 * timeouts; while capturing, one `capture.wait` is always in flight; a helper that dies, stops
 * answering or reports `fatal` is restarted with exponential backoff, and capture is started
 * again in the new process.
 */

export const HELPER_PING_INTERVAL_MS = 10_000;
export const HELPER_DEAD_GRACE_MS = 10_000;
export const HELPER_REQUEST_TIMEOUT_MS = 15_000;
export const HELPER_ORG_TIMEOUT_MS = 120_000;
export const HELPER_START_TIMEOUT_MS = 30_000;
/** For this long after another call was sent or answered, capture.wait waits at most CAPTURE_BUSY_WAIT_MS. */
export const CAPTURE_BUSY_WINDOW_MS = 250;
export const CAPTURE_BUSY_WAIT_MS = 20;

export interface HelperLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ComHelperOptions {
  /** argv: the program and its arguments, e.g. ['cscript', '//nologo', '//U', 'rtx-helper.js']. */
  command: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * How the helper's stdin/stdout are encoded: `ascii` (lines are pure ASCII), `utf16le`
   * (cscript `//U`), or `auto` (default: detected from the first bytes the helper writes; the
   * adapter writes nothing before the helper's `ready`).
   */
  encoding?: 'auto' | 'ascii' | 'utf16le';
  requestTimeoutMs?: number;
  /** Timeout of org.snapshot (a 20,000-user walk over COM takes a while). */
  orgTimeoutMs?: number;
  startTimeoutMs?: number;
  /** capture.wait timeout_ms (default 1000, at most 30,000). */
  captureWaitMs?: number;
  /** Restart backoff. */
  restart?: { minDelayMs?: number; maxDelayMs?: number };
  /** The filter app registered by capture.start. */
  app?: { guid?: string; name?: string; action?: 'copy' | 'distill' };
  log?: HelperLog;
}

export type HelperState = 'STOPPED' | 'STARTING' | 'READY' | 'BACKOFF';

export interface HelperStatus {
  state: HelperState;
  pid: number | null;
  helper: string | null;
  capabilities: HelperCapability[];
  capturing: boolean;
  restarts: number;
  /** Successful capture.start calls: each begins at RTX's current end (what was sent before is not replayed). */
  captureStarts: number;
  lastError: string | null;
}

/** A helper `response` with ok:false, or the helper being unavailable. */
export class HelperCallError extends RtxPortError {
  constructor(
    readonly code: HelperError['code'] | 'HELPER_DOWN' | 'TIMEOUT',
    message: string,
    accounts: string[] = [],
    comCode?: number,
  ) {
    super(kindOf(code), message, accounts, comCode);
    this.name = 'HelperCallError';
  }
}

function kindOf(code: string): RtxFailureKind {
  switch (code) {
    case 'RTX_UNAVAILABLE':
    case 'HELPER_DOWN':
    case 'TIMEOUT':
      return 'UNREACHABLE';
    case 'NO_SUCH_USER':
      return 'UNKNOWN_USER';
    case 'BAD_REQUEST':
      return 'BAD_REQUEST';
    default:
      return 'REFUSED';
  }
}

interface Pending {
  id: number;
  method: string;
  timeoutMs: number;
  sentAt: number;
  timer: NodeJS.Timeout;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

const quiet: HelperLog = { info: () => {}, warn: () => {} };

export class ComHelper {
  private readonly log: HelperLog;
  private child: ChildProcess | null = null;
  private state: HelperState = 'STOPPED';
  private ready: ReadyLine | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** When a request other than capture.wait was last sent or answered (ms since the epoch). */
  private lastOtherCallAt = 0;
  private readonly readyWaiters = new Set<() => void>();
  private readonly messageListeners = new Set<(batch: MessageEventData[]) => void>();
  private readonly stateListeners = new Set<(s: HelperState) => void>();
  private lastLineAt = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private restarts = 0;
  private captureStarts = 0;
  private lastError: string | null = null;
  private stopped = true;
  private wantCapture = false;
  private capturing = false;
  private captureLoopOn = false;
  private eventBuffer: MessageEventData[] = [];
  private generation = 0;
  private readonly appGuid: string;

  constructor(private readonly opts: ComHelperOptions) {
    if (opts.command.length === 0) throw new Error('the COM helper command is empty');
    this.log = opts.log ?? quiet;
    this.appGuid = opts.app?.guid ?? `{${randomUUID().toUpperCase()}}`;
  }

  status(): HelperStatus {
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      helper: this.ready ? `${this.ready.helper} ${this.ready.helper_version}` : null,
      capabilities: this.ready?.capabilities ?? [],
      capturing: this.capturing,
      restarts: this.restarts,
      captureStarts: this.captureStarts,
      lastError: this.lastError,
    };
  }

  has(cap: HelperCapability): boolean {
    return this.ready?.capabilities.includes(cap) ?? false;
  }

  /** Calls fn with each batch of captured `message` events (in helper order). */
  onMessages(fn: (batch: MessageEventData[]) => void): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onState(fn: (s: HelperState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Starts the helper (and keeps restarting it until stop()). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.spawn();
  }

  /** Asks the helper to shut down (unregistering its filter app), kills it after 3 s. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        this.write({ type: HelperLineType.Request, id: this.nextId++, method: HelperMethod.Shutdown, params: {} });
        child.stdin?.end();
      } catch {
        // already gone
      }
      const t = setTimeout(() => child.kill(), 3_000);
      await exited;
      clearTimeout(t);
    }
    this.failAll(new HelperCallError('HELPER_DOWN', 'the COM helper was stopped'));
    this.setState('STOPPED');
  }

  /** Keeps one capture.wait in flight whenever the helper is ready (after capture.start). */
  setCapture(on: boolean): void {
    this.wantCapture = on;
    if (on && this.state === 'READY') void this.captureLoop(this.generation);
  }

  /** Resolves once the helper is ready, or throws HELPER_DOWN after timeoutMs. */
  async whenReady(timeoutMs: number): Promise<void> {
    if (this.state === 'READY') return;
    if (this.stopped) throw new HelperCallError('HELPER_DOWN', 'the COM helper is not running');
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        this.readyWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(() => {
        this.readyWaiters.delete(done);
        reject(new HelperCallError('HELPER_DOWN', `the COM helper is not available${this.lastError ? ` (${this.lastError})` : ''}`));
      }, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /**
   * One request. Waits up to `readyWaitMs` (default 0: fail at once) for a ready helper, then
   * resolves the result or throws HelperCallError (helper error codes, TIMEOUT, HELPER_DOWN).
   */
  async call<M extends HelperMethod>(method: M, params: HelperParams[M], opts: { timeoutMs?: number; readyWaitMs?: number } = {}): Promise<HelperResults[M]> {
    if (this.state !== 'READY') await this.whenReady(opts.readyWaitMs ?? 0);
    const timeoutMs = opts.timeoutMs ?? (method === HelperMethod.OrgSnapshot ? (this.opts.orgTimeoutMs ?? HELPER_ORG_TIMEOUT_MS) : (this.opts.requestTimeoutMs ?? HELPER_REQUEST_TIMEOUT_MS));
    const id = this.nextId++;
    if (method !== HelperMethod.CaptureWait) this.lastOtherCallAt = Date.now();
    return new Promise<HelperResults[M]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HelperCallError('TIMEOUT', `the COM helper did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { id, method, timeoutMs, sentAt: Date.now(), timer, resolve: resolve as (v: unknown) => void, reject });
      try {
        this.write({ type: HelperLineType.Request, id, method, params });
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new HelperCallError('HELPER_DOWN', 'the COM helper is not running'));
      }
    });
  }

  // ---- process ----

  private setState(s: HelperState): void {
    if (this.state === s) return;
    this.state = s;
    if (s === 'READY') for (const w of [...this.readyWaiters]) w();
    for (const l of this.stateListeners) l(s);
  }

  private encoding: 'ascii' | 'utf16le' | null = null;

  private spawn(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.setState('STARTING');
    this.ready = null;
    this.capturing = false;
    this.captureLoopOn = false;
    this.eventBuffer = [];
    this.encoding = this.opts.encoding && this.opts.encoding !== 'auto' ? this.opts.encoding : null;
    const [cmd, ...args] = this.opts.command as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: this.opts.cwd, env: this.opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      this.lastError = `cannot start the COM helper: ${(e as Error).message}`;
      return this.scheduleRestart(false);
    }
    this.child = child;
    this.lastLineAt = Date.now();
    let fatal: HelperError | null = null;
    let buf = '';
    let decoder: InstanceType<typeof TextDecoder> | null = null;
    let tooLong = false;
    const startTimer = setTimeout(() => {
      if (this.generation === gen && this.state === 'STARTING') {
        this.lastError = `the COM helper did not say ready within ${this.opts.startTimeoutMs ?? HELPER_START_TIMEOUT_MS} ms`;
        child.kill();
      }
    }, this.opts.startTimeoutMs ?? HELPER_START_TIMEOUT_MS);
    child.stdin?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.log.warn({ stderr: s.slice(0, 2000) }, 'COM helper stderr'));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.generation !== gen) return;
      if (!decoder) {
        if (!this.encoding) this.encoding = (chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk.length > 1 && chunk[1] === 0) ? 'utf16le' : 'ascii';
        decoder = new TextDecoder(this.encoding === 'utf16le' ? 'utf-16le' : 'utf-8');
      }
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '').replace(/^\uFEFF/, '');
        buf = buf.slice(nl + 1);
        if (tooLong) {
          tooLong = false;
          continue;
        }
        if (line.trim() !== '') fatal = this.onLine(line, gen) ?? fatal;
      }
      if (buf.length > MAX_HELPER_LINE_BYTES) {
        this.log.warn({ bytes: buf.length }, 'COM helper line too long: dropped');
        buf = '';
        tooLong = true;
      }
    });
    child.on('error', (e: Error) => {
      this.lastError = `cannot start the COM helper (${this.opts.command[0]}): ${e.message}`;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      if (this.generation !== gen) return;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      this.child = null;
      const wasReady = this.ready !== null;
      if (fatal) this.lastError = `${fatal.code}: ${fatal.message}`;
      else if (!this.stopped) this.lastError ??= `the COM helper exited (${signal ?? `code ${code}`})`;
      if (!this.stopped) this.log.warn({ code, signal, lastError: this.lastError }, 'COM helper exited');
      this.ready = null;
      this.capturing = false;
      this.failAll(new HelperCallError('HELPER_DOWN', `the COM helper exited${this.lastError ? ` (${this.lastError})` : ''}`));
      if (this.stopped) return this.setState('STOPPED');
      if (wasReady && Date.now() - this.lastReadyAt > 30_000) this.attempt = 0;
      this.scheduleRestart(fatal?.code === 'RTX_LOGIN_FAILED');
    });
    this.pingTimer = setInterval(() => this.checkAlive(gen), 1_000);
    this.pingTimer.unref();
  }

  private lastReadyAt = 0;

  private scheduleRestart(slow: boolean): void {
    if (this.stopped) return;
    this.setState('BACKOFF');
    const min = this.opts.restart?.minDelayMs ?? 500;
    const max = this.opts.restart?.maxDelayMs ?? 30_000;
    const ceiling = slow ? max : Math.min(max, min * 2 ** this.attempt++);
    const delay = Math.max(min, ceiling / 2 + (Math.random() * ceiling) / 2);
    this.restarts += 1;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private checkAlive(gen: number): void {
    if (this.generation !== gen || !this.child || this.state !== 'READY') return;
    const now = Date.now();
    const quietFor = now - this.lastLineAt;
    if (this.pending.size > 0) {
      const longest = Math.max(...[...this.pending.values()].map((p) => p.timeoutMs));
      if (quietFor > longest + HELPER_DEAD_GRACE_MS) {
        this.lastError = `the COM helper wrote nothing for ${quietFor} ms: killed`;
        this.log.warn({ quietForMs: quietFor }, 'COM helper not answering: restarting it');
        this.child.kill();
      }
    } else if (quietFor > HELPER_PING_INTERVAL_MS) {
      this.call(HelperMethod.Ping, {}).catch(() => undefined);
    }
  }

  private write(line: Record<string, unknown>): void {
    const child = this.child;
    if (!child?.stdin?.writable) throw new Error('helper stdin closed');
    const text = `${encodeHelperLine(line)}\r\n`;
    child.stdin.write(this.encoding === 'utf16le' ? Buffer.from(text, 'utf16le') : Buffer.from(text, 'latin1'));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  /** Handles one line; returns the fatal error when the line is `fatal`. */
  private onLine(line: string, gen: number): HelperError | null {
    this.lastLineAt = Date.now();
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'COM helper wrote a line that is not JSON: ignored');
      return null;
    }
    switch (o.type) {
      case HelperLineType.Ready: {
        const r = o as unknown as ReadyLine;
        if (r.protocol !== HELPER_PROTOCOL_VERSION) {
          this.lastError = `RTX_HELPER_PROTOCOL: the helper speaks protocol ${String(r.protocol)}, this adapter ${HELPER_PROTOCOL_VERSION}`;
          this.child?.kill();
          this.attempt = 20;
          return null;
        }
        this.ready = { ...r, capabilities: Array.isArray(r.capabilities) ? r.capabilities : [] };
        this.lastError = null;
        this.lastReadyAt = Date.now();
        this.log.info({ helper: r.helper, version: r.helper_version, capabilities: r.capabilities, rtx: r.rtx }, 'COM helper ready');
        this.setState('READY');
        if (this.wantCapture) void this.captureLoop(gen);
        return null;
      }
      case HelperLineType.Response: {
        const id = typeof o.id === 'number' ? o.id : null;
        if (id === null) {
          this.log.warn({ error: o.error }, 'COM helper could not read a request line');
          return null;
        }
        const p = this.pending.get(id);
        if (!p) return null;
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (p.method !== HelperMethod.CaptureWait) this.lastOtherCallAt = Date.now();
        if (o.ok === true) p.resolve(o.result);
        else {
          const e = (o.error ?? {}) as Partial<HelperError>;
          const code = (typeof e.code === 'string' ? e.code : 'INTERNAL') as HelperError['code'];
          const msg = typeof e.message === 'string' ? e.message : 'helper error';
          const accounts = code === 'NO_SUCH_USER' ? (/:\s*(.+)$/.exec(msg)?.[1] ?? '').split(/[,;]/).map((s) => s.trim()).filter(Boolean) : [];
          p.reject(new HelperCallError(code, `${p.method}: ${code}: ${msg}`, accounts, typeof e.com_code === 'number' ? e.com_code : undefined));
        }
        return null;
      }
      case HelperLineType.Event: {
        if (o.event === 'message' && o.data && typeof o.data === 'object') this.eventBuffer.push(o.data as MessageEventData);
        else if (o.event === 'capture_state') {
          const d = (o.data ?? {}) as { capturing?: boolean; reason?: string };
          if (d.capturing === false) {
            this.capturing = false;
            this.log.warn({ reason: d.reason }, 'COM helper lost its filter app: capture will be started again');
          }
        } else if (o.event === 'log') {
          const d = (o.data ?? {}) as { level?: string; message?: string };
          (d.level === 'info' ? this.log.info : this.log.warn)({ helper: d.message }, 'COM helper log');
        }
        return null;
      }
      case HelperLineType.Fatal:
        return ((o.error ?? { code: 'INTERNAL', message: 'fatal' }) as HelperError);
      default:
        return null;
    }
  }

  private flushEvents(): void {
    if (this.eventBuffer.length === 0) return;
    const batch = this.eventBuffer;
    this.eventBuffer = [];
    for (const l of this.messageListeners) l(batch);
  }

  /** capture.start, then capture.wait after capture.wait, until capture is off or the helper changes. */
  private async captureLoop(gen: number): Promise<void> {
    if (this.captureLoopOn) return;
    this.captureLoopOn = true;
    const waitMs = Math.min(MAX_CAPTURE_WAIT_MS, this.opts.captureWaitMs ?? 1000);
    try {
      while (this.wantCapture && this.generation === gen && this.state === 'READY') {
        try {
          if (!this.capturing) {
            await this.call(HelperMethod.CaptureStart, { app_guid: this.appGuid, app_name: this.opts.app?.name ?? 'Huitong bridge', action: this.opts.app?.action ?? 'copy' });
            this.capturing = true;
            this.captureStarts += 1;
          }
          // the helper serves one request at a time, so a long capture.wait holds up every other
          // call (an org read is a dozen calls in a row): while other calls are active, wait briefly
          const busy = Date.now() - this.lastOtherCallAt < CAPTURE_BUSY_WINDOW_MS || [...this.pending.values()].some((p) => p.method !== HelperMethod.CaptureWait);
          const wait = busy ? Math.min(waitMs, CAPTURE_BUSY_WAIT_MS) : waitMs;
          const r = await this.call(HelperMethod.CaptureWait, { timeout_ms: wait, max_events: 200 }, { timeoutMs: wait + HELPER_REQUEST_TIMEOUT_MS });
          this.flushEvents();
          if (!r.capturing) this.capturing = false;
        } catch (e) {
          this.flushEvents();
          if (e instanceof HelperCallError && e.code === 'NOT_CAPTURING') this.capturing = false;
          else if (this.generation === gen && this.state === 'READY') {
            this.lastError = e instanceof Error ? e.message : String(e);
            await new Promise((r) => setTimeout(r, 1_000).unref());
          }
        }
      }
    } finally {
      if (this.generation === gen) this.captureLoopOn = false;
    }
  }
}
