import vm from 'node:vm';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * Regular expressions of auto-reply rules (docs/apps-callbacks.md "Regular
 * expressions"). Two guards against catastrophic backtracking:
 * 1. on save, patterns that can backtrack exponentially are refused with a
 *    clear message: a repeated group that itself holds a quantifier or an
 *    alternation (`(a+)+`, `(a|aa)*`, `(.*a){3,}`), backreferences, and
 *    patterns longer than MAX_PATTERN_CHARS;
 * 2. on match, every evaluation runs with a deadline (MATCH_DEADLINE_MS) in a
 *    separate V8 context that the engine interrupts: a pattern that slips
 *    through the first guard fails to match instead of stalling the process.
 */
export const MAX_PATTERN_CHARS = 200;
export const MATCH_DEADLINE_MS = 50;

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

/** Throws GW_BAD_REQUEST naming the problem; returns the compiled expression. */
export function checkPattern(pattern: string): RegExp {
  if (pattern.length === 0) throw bad('the regular expression is empty');
  if (pattern.length > MAX_PATTERN_CHARS) throw bad(`the regular expression is longer than ${MAX_PATTERN_CHARS} characters`);
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch (e) {
    throw bad(`the regular expression is not valid: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  if (/\\[1-9]|\\k</.test(pattern)) throw bad('backreferences (\\1, \\k<name>) are not allowed in auto-reply patterns');
  const risky = nestedRepetition(pattern);
  if (risky) throw bad(`the group "${risky}" repeats something that itself repeats or alternates, which can take exponential time; rewrite it without nested quantifiers`);
  return re;
}

/** The first repeated group whose body holds a quantifier or an alternation, or null. */
function nestedRepetition(p: string): string | null {
  // a stack of open groups: where each starts and whether its body repeats or alternates
  const stack: { start: number; inner: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      stack.push({ start: i, inner: false });
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === '|' && top) top.inner = true;
    if (isQuantifierAt(p, i) && top) top.inner = true;
    if (c === ')') {
      const g = stack.pop();
      if (!g) continue;
      if (g.inner && repeatsAt(p, i + 1)) return p.slice(g.start, Math.min(p.length, i + 2));
      // the enclosing group repeats or alternates if anything inside it does
      const outer = stack[stack.length - 1];
      if (outer && (g.inner || repeatsAt(p, i + 1))) outer.inner = true;
    }
  }
  return null;
}

function isQuantifierAt(p: string, i: number): boolean {
  const c = p[i];
  if (c === '*' || c === '+') return true;
  if (c === '{') return /^\{\d+(,\d*)?\}/.test(p.slice(i));
  // '?' after '(' is a group modifier, not a quantifier
  return c === '?' && p[i - 1] !== '(';
}

/** Whether the token after position i repeats unboundedly or more than once: *, +, {n,}, {n,m} with m > 1. */
function repeatsAt(p: string, i: number): boolean {
  const c = p[i];
  if (c === '*' || c === '+') return true;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
  if (!m) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

const context = vm.createContext(Object.create(null) as object);
const script = new vm.Script('re.test(s)');

/**
 * Whether `re` matches `text`, or null when the deadline passed (counts as no
 * match). Synchronous: it blocks for at most about MATCH_DEADLINE_MS.
 */
export function testWithDeadline(re: RegExp, text: string, deadlineMs = MATCH_DEADLINE_MS): boolean | null {
  const c = context as { re?: RegExp; s?: string };
  c.re = re;
  c.s = text;
  try {
    return script.runInContext(context, { timeout: deadlineMs }) === true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return null;
    throw e;
  } finally {
    delete c.re;
    delete c.s;
  }
}
