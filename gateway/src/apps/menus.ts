import { GatewayError } from '../errors/gateway-error.js';
import type { Db } from '../storage/sqlite.js';
import { checkReply } from './auto-reply.js';
import { MAX_MENU_ITEMS, MAX_MENU_NAME_CHARS, MAX_SUB_ITEMS, type MenuItem, type MenuView } from './callbacks-types.js';

const KEY_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_URL_CHARS = 2048;
const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

/** A menu item as clients get it: no configured replies (those stay on the server). */
export interface ClientMenuItem {
  name: string;
  type: 'click' | 'view' | 'parent';
  key?: string;
  url?: string;
  sub?: ClientMenuItem[];
}

/**
 * Custom menus (F-4.7): at most 3 items, each a `click`, a `view` or a parent
 * of 1–5 sub-items (which are click or view). The whole menu is replaced at
 * once; an empty list removes it.
 */
export class MenuService {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(appRowId: number): MenuView {
    const r = this.db.prepare('SELECT menu, version, updated_at FROM app_menus WHERE app_row_id = ?').get(appRowId) as { menu: string; version: number; updated_at: number } | undefined;
    return r ? { appId: appRowId, items: JSON.parse(r.menu) as MenuItem[], version: r.version, updatedAt: r.updated_at } : { appId: appRowId, items: [], version: 0, updatedAt: 0 };
  }

  /** Replaces the menu; `expectedVersion` (when given) must be the current one (GW_CONFLICT otherwise). */
  put(appRowId: number, items: unknown, expectedVersion?: number): MenuView {
    const clean = checkMenu(items);
    const now = this.now();
    return this.db.transaction(() => {
      const cur = this.get(appRowId);
      if (expectedVersion !== undefined && expectedVersion !== cur.version) throw new GatewayError('GW_CONFLICT', 'the menu was changed by someone else; reload and try again');
      this.db
        .prepare(`INSERT INTO app_menus (app_row_id, menu, version, updated_at) VALUES (?, ?, 1, ?)
          ON CONFLICT (app_row_id) DO UPDATE SET menu = excluded.menu, version = app_menus.version + 1, updated_at = excluded.updated_at`)
        .run(appRowId, JSON.stringify(clean), now);
      return this.get(appRowId);
    })();
  }

  /** The menu as clients see it. */
  forClient(appRowId: number): { items: ClientMenuItem[]; version: number } {
    const m = this.get(appRowId);
    const strip = (i: MenuItem): ClientMenuItem => ({
      name: i.name, type: i.type,
      ...(i.key !== undefined ? { key: i.key } : {}),
      ...(i.url !== undefined ? { url: i.url } : {}),
      ...(i.sub ? { sub: i.sub.map(strip) } : {}),
    });
    return { items: m.items.map(strip), version: m.version };
  }

  /** The click item with this key, or null. */
  clickItem(appRowId: number, key: string): MenuItem | null {
    for (const top of this.get(appRowId).items) {
      for (const i of top.sub ?? [top]) if (i.type === 'click' && i.key === key) return i;
    }
    return null;
  }
}

/** Checks a whole menu; returns a clean copy holding only known fields. */
export function checkMenu(v: unknown): MenuItem[] {
  if (!Array.isArray(v)) throw bad('items must be a list of menu items');
  if (v.length > MAX_MENU_ITEMS) throw bad(`a menu has at most ${MAX_MENU_ITEMS} items`);
  const keys = new Set<string>();
  return v.map((x, i) => checkItem(x, `items[${i}]`, true, keys));
}

function checkItem(v: unknown, where: string, top: boolean, keys: Set<string>): MenuItem {
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad(`${where} must be an object`);
  for (const k of Object.keys(o)) if (!['name', 'type', 'key', 'url', 'reply', 'sub'].includes(k)) throw bad(`${where}: unknown field ${k.slice(0, 40)}`);
  if (typeof o.name !== 'string' || o.name.trim() === '') throw bad(`${where}.name is required`);
  const name = o.name.trim();
  if ([...name].length > MAX_MENU_NAME_CHARS) throw bad(`${where}.name is longer than ${MAX_MENU_NAME_CHARS} characters`);
  const type = o.type ?? (Array.isArray(o.sub) ? 'parent' : undefined);
  if (type === 'parent') {
    if (!top) throw bad(`${where}: sub-items cannot have sub-items`);
    if (!Array.isArray(o.sub) || o.sub.length === 0) throw bad(`${where}.sub must list 1–${MAX_SUB_ITEMS} sub-items`);
    if (o.sub.length > MAX_SUB_ITEMS) throw bad(`${where} has ${o.sub.length} sub-items; at most ${MAX_SUB_ITEMS}`);
    return { name, type, sub: o.sub.map((s, i) => checkItem(s, `${where}.sub[${i}]`, false, keys)) };
  }
  if (o.sub !== undefined) throw bad(`${where}: only a parent item has sub-items`);
  if (type === 'click') {
    if (typeof o.key !== 'string' || !KEY_RE.test(o.key)) throw bad(`${where}.key must be 1–64 letters, digits, _ . : -`);
    if (keys.has(o.key)) throw bad(`${where}.key ${o.key} is used twice`);
    keys.add(o.key);
    const reply = o.reply === undefined || o.reply === null ? null : checkReply(o.reply, `${where}.reply`);
    return { name, type, key: o.key, reply };
  }
  if (type === 'view') {
    if (typeof o.url !== 'string' || o.url.length > MAX_URL_CHARS) throw bad(`${where}.url is required`);
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw bad(`${where}.url is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(`${where}.url must be an http or https URL`);
    return { name, type, url: o.url };
  }
  throw bad(`${where}.type must be click, view or parent`);
}
