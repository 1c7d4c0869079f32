/**
 * A small structured logger: one JSON object per line on stderr (the journal
 * under systemd). Fields named like secrets are redacted before writing.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const ORDER: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };
const SECRET_KEY = /pass(word)?|secret|token|key|authorization|cookie/i;

export interface Logger {
  level: LogLevel;
  trace(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  fatal(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

function redact(v: unknown, depth = 0): unknown {
  if (v instanceof Error) return { type: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code };
  if (!v || typeof v !== 'object' || depth > 4) return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) && k !== 'err' ? '[redacted]' : redact(x, depth + 1);
  return out;
}

export function createLogger(level: LogLevel = 'info', bindings: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (lvl: LogLevel) => (obj: object | string, msg?: string) => {
    if (ORDER[lvl] < ORDER[logger.level]) return;
    const fields = typeof obj === 'string' ? { msg: obj } : { ...(redact(obj) as object), ...(msg ? { msg } : {}) };
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, ...bindings, ...fields }) + '\n');
  };
  const logger: Logger = {
    level,
    trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), fatal: log('fatal'),
    child: (b) => createLogger(logger.level, { ...bindings, ...b }, write),
  };
  return logger;
}
