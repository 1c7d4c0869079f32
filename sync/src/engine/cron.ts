import cron from 'node-cron';

/**
 * Cron expressions for sync schedules: node-cron 4 syntax (5 fields, or 6
 * with seconds first), server local time. node-cron validates and matches;
 * the scheduler keeps its own timer so the next run is a persisted row
 * (docs/sync.md "Schedules"), which is why next times are computed from any
 * instant here rather than from "now".
 */

interface Matcher {
  getNextMatch(from: Date): Date;
}

const matchers = new Map<string, Matcher>();
const MAX_CACHED = 64;

/** A problem with the expression in plain words, or null when node-cron accepts it. */
export function cronProblem(expr: string): string | null {
  if (typeof expr !== 'string' || expr.trim() === '' || expr.length > 200) return 'the schedule must be a cron expression such as "0 2 * * *"';
  const v = cron.validateDetailed(expr.trim());
  if (v.valid) return null;
  return `not a valid cron expression: ${v.errors.map((e) => e.message).join('; ') || 'unreadable'}`;
}

function matcher(expr: string): Matcher {
  let m = matchers.get(expr);
  if (m) return m;
  const problem = cronProblem(expr);
  if (problem) throw new Error(problem);
  // a task that is never started: only its matcher is used; destroyed at once so node-cron keeps no reference
  const task = cron.createTask(expr, () => undefined);
  const tm = (task as unknown as { timeMatcher?: Matcher }).timeMatcher;
  void task.destroy();
  m = tm && typeof tm.getNextMatch === 'function' ? tm : bruteMatcher(expr);
  if (matchers.size >= MAX_CACHED) matchers.clear();
  matchers.set(expr, m);
  return m;
}

/** Fallback should node-cron's matcher move: steps second by second up to a bound, using the public match(). */
function bruteMatcher(expr: string): Matcher {
  const task = cron.createTask(expr, () => undefined);
  const match = (d: Date) => task.match(d);
  void task.destroy();
  return {
    getNextMatch(from: Date): Date {
      let t = Math.floor(from.getTime() / 1000) * 1000 + 1000;
      for (let i = 0; i < 366 * 86_400; i++, t += 1000) if (match(new Date(t))) return new Date(t);
      throw new Error(`no time matches ${expr} within a year`);
    },
  };
}

/** The next `count` times (epoch ms) strictly after `from` that the expression matches. Throws for an invalid expression. */
export function nextRuns(expr: string, from: number, count: number): number[] {
  const m = matcher(expr.trim());
  const out: number[] = [];
  let d = new Date(from);
  for (let i = 0; i < count; i++) {
    d = m.getNextMatch(d);
    out.push(d.getTime());
  }
  return out;
}

export function nextRun(expr: string, from: number): number {
  return nextRuns(expr, from, 1)[0] as number;
}

const DOW_ZH = ['日', '一', '二', '三', '四', '五', '六'];
const DOW_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const pad = (n: number) => String(n).padStart(2, '0');
const num = (s: string) => (/^\d{1,2}$/.test(s) ? Number(s) : null);
const dowOf = (s: string) => (/^\d$/.test(s) ? Number(s) % 7 : (DOW_NAMES[s.toLowerCase().slice(0, 3)] ?? null));

/**
 * A description in Chinese and English of the common patterns ("每天 02:00" /
 * "every day at 02:00"); anything else is described as the expression itself.
 */
export function describeCron(expr: string): { zh: string; en: string } {
  const raw = expr.trim();
  const fallback = { zh: `按 cron 表达式 ${raw}`, en: `cron ${raw}` };
  if (cronProblem(raw)) return fallback;
  let f = raw.split(/\s+/);
  let sec = '0';
  if (f.length === 6) [sec, ...f] = f as [string, ...string[]];
  if (f.length !== 5 || sec !== '0') {
    const every = /^\*\/(\d+)$/.exec(sec);
    if (f.length === 5 && every && f.every((x) => x === '*')) return { zh: `每 ${every[1]} 秒`, en: `every ${every[1]} seconds` };
    if (f.length === 5 && sec === '*' && f.every((x) => x === '*')) return { zh: '每秒', en: 'every second' };
    return fallback;
  }
  const [mi, h, dom, mon, dow] = f as [string, string, string, string, string];
  if (mi === '*' && h === '*' && dom === '*' && mon === '*' && dow === '*') return { zh: '每分钟', en: 'every minute' };
  const stepMin = /^\*\/(\d+)$/.exec(mi);
  if (stepMin && h === '*' && dom === '*' && mon === '*' && dow === '*') return { zh: `每 ${stepMin[1]} 分钟`, en: `every ${stepMin[1]} minutes` };
  const m = num(mi);
  if (m === null) return fallback;
  if (h === '*' && dom === '*' && mon === '*' && dow === '*') return { zh: `每小时第 ${m} 分`, en: `every hour at minute ${m}` };
  const stepH = /^\*\/(\d+)$/.exec(h);
  if (stepH && dom === '*' && mon === '*' && dow === '*') return { zh: `每 ${stepH[1]} 小时（第 ${m} 分）`, en: `every ${stepH[1]} hours at minute ${m}` };
  const hours = h.split(',').map(num);
  if (hours.some((x) => x === null) || mon !== '*') return fallback;
  const times = hours.map((x) => `${pad(x as number)}:${pad(m)}`);
  const zt = times.join('、');
  const et = times.length > 1 ? `${times.slice(0, -1).join(', ')} and ${times.at(-1)}` : (times[0] as string);
  if (dom === '*' && dow === '*') return { zh: `每天 ${zt}`, en: `every day at ${et}` };
  if (dom === '*') {
    if (dow === '1-5') return { zh: `每个工作日（周一至周五）${zt}`, en: `every weekday (Monday to Friday) at ${et}` };
    const days = dow.split(',').map(dowOf);
    if (days.some((x) => x === null)) return fallback;
    return { zh: `每周${days.map((d) => DOW_ZH[d as number]).join('、')} ${zt}`, en: `every ${days.map((d) => DOW_EN[d as number]).join(', ')} at ${et}` };
  }
  const d = num(dom);
  if (d !== null && dow === '*') return { zh: `每月 ${d} 日 ${zt}`, en: `on day ${d} of every month at ${et}` };
  return fallback;
}
