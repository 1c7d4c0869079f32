import { GatewayError } from '../errors/gateway-error.js';
import { validateBody } from '../messaging/validate.js';
import type { Db } from '../storage/sqlite.js';
import { MATCH_KINDS, REPLY_KINDS, type AppReply, type MatchKind, type ReplyRuleInput, type ReplyRuleView } from './callbacks-types.js';
import { checkPattern, testWithDeadline } from './safe-regex.js';

/** Most rules one app may hold. */
export const MAX_RULES_PER_APP = 200;
export const MAX_KEYWORD_CHARS = 200;
const MAX_PRIORITY = 1_000_000;

interface RuleRow {
  id: number;
  app_row_id: number;
  match: MatchKind;
  pattern: string;
  priority: number;
  reply_kind: string;
  reply_body: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

interface CompiledRule {
  view: ReplyRuleView;
  re: RegExp | null;
}

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

/** Checks an app message a rule or a menu item answers with; returns a clean copy. */
export function checkReply(v: unknown, what = 'reply'): AppReply {
  const r = v as { kind?: unknown; body?: unknown } | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad(`${what} must be {kind, body}`);
  if (!(REPLY_KINDS as readonly unknown[]).includes(r.kind)) throw bad(`${what}.kind must be one of ${REPLY_KINDS.join(', ')}`);
  const kind = r.kind as AppReply['kind'];
  return { kind, body: validateBody(kind, r.body) };
}

/**
 * Keyword auto-reply (F-4.6): rules per app, tried by priority (higher first,
 * then oldest first): exact (the whole text, trimmed), contains, regular
 * expression (guarded, see safe-regex.ts); when none matches, the app's
 * default reply if it has one. Rules are cached per app and recompiled after
 * each change. No external server is involved: the reply is sent by the
 * caller through the messaging path.
 */
export class AutoReplyService {
  private readonly cache = new Map<number, CompiledRule[]>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  list(appRowId: number): ReplyRuleView[] {
    return this.compiled(appRowId).map((r) => r.view);
  }

  get(appRowId: number, id: number): ReplyRuleView {
    const r = this.db.prepare('SELECT * FROM app_reply_rules WHERE id = ? AND app_row_id = ?').get(id, appRowId) as RuleRow | undefined;
    if (!r) throw new GatewayError('GW_NOT_FOUND', `rule ${id} does not exist`);
    return view(r);
  }

  create(appRowId: number, input: unknown): ReplyRuleView {
    const v = checkInput(input);
    const n = (this.db.prepare('SELECT COUNT(*) AS n FROM app_reply_rules WHERE app_row_id = ?').get(appRowId) as { n: number }).n;
    if (n >= MAX_RULES_PER_APP) throw bad(`an app may have at most ${MAX_RULES_PER_APP} rules`);
    const now = this.now();
    const id = Number(
      this.db
        .prepare('INSERT INTO app_reply_rules (app_row_id, match, pattern, priority, reply_kind, reply_body, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(appRowId, v.match, v.pattern ?? '', v.priority ?? 0, v.reply.kind, JSON.stringify(v.reply.body), v.enabled === false ? 0 : 1, now, now).lastInsertRowid,
    );
    this.cache.delete(appRowId);
    return this.get(appRowId, id);
  }

  update(appRowId: number, id: number, input: unknown): ReplyRuleView {
    this.get(appRowId, id);
    const v = checkInput(input);
    this.db
      .prepare('UPDATE app_reply_rules SET match = ?, pattern = ?, priority = ?, reply_kind = ?, reply_body = ?, enabled = ?, updated_at = ? WHERE id = ? AND app_row_id = ?')
      .run(v.match, v.pattern ?? '', v.priority ?? 0, v.reply.kind, JSON.stringify(v.reply.body), v.enabled === false ? 0 : 1, this.now(), id, appRowId);
    this.cache.delete(appRowId);
    return this.get(appRowId, id);
  }

  delete(appRowId: number, id: number): ReplyRuleView {
    const before = this.get(appRowId, id);
    this.db.prepare('DELETE FROM app_reply_rules WHERE id = ? AND app_row_id = ?').run(id, appRowId);
    this.cache.delete(appRowId);
    return before;
  }

  /** The reply to a user's text, or null when no rule (and no default) applies. Never throws for a pattern. */
  match(appRowId: number, text: string): { rule: ReplyRuleView; reply: AppReply } | null {
    const rules = this.compiled(appRowId).filter((r) => r.view.enabled);
    const trimmed = text.trim();
    for (const r of rules) {
      const v = r.view;
      let hit = false;
      if (v.match === 'exact') hit = trimmed === v.pattern.trim();
      else if (v.match === 'contains') hit = text.includes(v.pattern);
      else if (v.match === 'regex' && r.re) hit = testWithDeadline(r.re, text) === true;
      if (hit) return { rule: v, reply: v.reply };
    }
    const d = rules.find((r) => r.view.match === 'default');
    return d ? { rule: d.view, reply: d.view.reply } : null;
  }

  private compiled(appRowId: number): CompiledRule[] {
    let c = this.cache.get(appRowId);
    if (!c) {
      const rows = this.db.prepare('SELECT * FROM app_reply_rules WHERE app_row_id = ? ORDER BY priority DESC, id').all(appRowId) as RuleRow[];
      c = rows.map((r) => {
        let re: RegExp | null = null;
        // a stored pattern was checked on save; one that no longer compiles never matches
        if (r.match === 'regex') {
          try {
            re = new RegExp(r.pattern, 'u');
          } catch {
            re = null;
          }
        }
        return { view: view(r), re };
      });
      this.cache.set(appRowId, c);
    }
    return c;
  }
}

function view(r: RuleRow): ReplyRuleView {
  return {
    id: r.id, appId: r.app_row_id, match: r.match, pattern: r.pattern, priority: r.priority,
    reply: { kind: r.reply_kind as AppReply['kind'], body: JSON.parse(r.reply_body) as unknown },
    enabled: r.enabled === 1, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function checkInput(input: unknown): ReplyRuleInput {
  const b = input as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw bad('the rule must be an object');
  for (const k of Object.keys(b)) if (!['match', 'pattern', 'priority', 'reply', 'enabled'].includes(k)) throw bad(`unknown field ${k.slice(0, 40)}; allowed: match, pattern, priority, reply, enabled`);
  if (!MATCH_KINDS.includes(b.match as MatchKind)) throw bad(`match must be one of ${MATCH_KINDS.join(', ')}`);
  const match = b.match as MatchKind;
  let pattern = '';
  if (match !== 'default') {
    if (typeof b.pattern !== 'string' || b.pattern.trim() === '') throw bad(match === 'regex' ? 'the rule needs a regular expression' : 'the rule needs a keyword');
    pattern = b.pattern;
    if (match === 'regex') checkPattern(pattern);
    else if (pattern.length > MAX_KEYWORD_CHARS) throw bad(`the keyword is longer than ${MAX_KEYWORD_CHARS} characters`);
  } else if (b.pattern !== undefined && b.pattern !== '' && b.pattern !== null) throw bad('the default reply has no pattern');
  let priority = 0;
  if (b.priority !== undefined) {
    if (!Number.isSafeInteger(b.priority) || Math.abs(b.priority as number) > MAX_PRIORITY) throw bad(`priority must be an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}`);
    priority = b.priority as number;
  }
  if (b.enabled !== undefined && typeof b.enabled !== 'boolean') throw bad('enabled must be true or false');
  return { match, pattern, priority, reply: checkReply(b.reply), ...(b.enabled !== undefined ? { enabled: b.enabled as boolean } : {}) };
}
