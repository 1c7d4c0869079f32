import { randomBytes, randomInt } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import { AppCipher, CryptoError, decodeAesKey, newEncodingAesKey } from '../openapi/crypto.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { SecretBox } from '../settings/secret-box.js';
import type { SettingsStore } from '../settings/settings.js';
import type { Db } from '../storage/sqlite.js';
import { visibleApps } from './visible.js';
import { checkDescription, checkHomeUrl, checkManagers, checkMobileUrl, LOGO_NAME_RE, logoName, sniffLogo } from './profile.js';
import { APP_RIGHTS, CUSTOM_APP_RIGHTS, SYSTEM_APPS, type AppCreate, type AppPatch, type AppRight, type AppVisibility, type OpenApp } from './types.js';

interface AppRow {
  id: number;
  key: string;
  name: string;
  origin: string;
  kind: OpenApp['kind'];
  buin: number | null;
  app_id: string | null;
  aes_key: string | null;
  rights: string;
  visibility: string;
  enabled: number;
  token_gen: number;
  callback_url: string | null;
  callback_token: string | null;
  description: string;
  logo: string | null;
  home_url: string | null;
  mobile_url: string | null;
  managers: string;
  version: number;
  created_at: number;
  updated_at: number;
}

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAME_CHARS = 64;
const MAX_CALLBACK_TOKEN_CHARS = 128;
const MAX_VISIBLE_ITEMS = 10_000;

/**
 * The apps (docs/open-api.md "Apps"): built-in, the spec's system assistants
 * and custom apps, each keyed by (buin, appId) for the open API. Reads are
 * served from memory (the open API looks an app up on every call); every
 * write goes to SQLite first and then replaces the cached copy. Secrets (the
 * EncodingAESKey, the callback Token) are sealed at rest.
 */
export class AppService {
  private readonly byRow = new Map<number, OpenApp>();
  private readonly byBuinAppId = new Map<string, OpenApp>();
  private readonly ciphers = new Map<number, { key: string; cipher: AppCipher }>();
  private loaded = false;

  constructor(
    private readonly db: Db,
    private readonly settings: SettingsStore,
    private readonly box: () => SecretBox,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
  ) {}

  /** The gateway's own buin: chosen at random (6 digits) the first time it is needed, then kept. */
  async defaultBuin(): Promise<number> {
    const b = this.settings.get().openApiBuin;
    if (b > 0) return b;
    const chosen = randomInt(100_000, 1_000_000);
    await this.settings.set({ openApiBuin: chosen });
    return chosen;
  }

  /** Loads the apps and makes the spec's system apps that are missing. Idempotent. */
  async init(): Promise<void> {
    this.reload();
    const buin = await this.defaultBuin();
    for (const s of SYSTEM_APPS) {
      if (this.byBuinAppId.has(`${buin}:${s.appId}`)) continue;
      await this.create({ name: s.name, kind: 'system', buin, appId: s.appId, rights: [...s.rights] }, 'builtin');
    }
  }

  private reload(): void {
    this.byRow.clear();
    this.byBuinAppId.clear();
    this.ciphers.clear();
    for (const r of this.db.prepare('SELECT * FROM apps ORDER BY id').all() as AppRow[]) this.cache(this.fromRow(r));
    this.loaded = true;
  }

  private cache(app: OpenApp): void {
    const old = this.byRow.get(app.rowId);
    if (old?.appId) this.byBuinAppId.delete(`${old.buin}:${old.appId}`);
    this.byRow.set(app.rowId, app);
    if (app.appId && app.buin !== null) this.byBuinAppId.set(`${app.buin}:${app.appId}`, app);
    this.ciphers.delete(app.rowId);
  }

  private fromRow(r: AppRow): OpenApp {
    const box = r.aes_key || r.callback_token ? this.box() : null;
    return {
      rowId: r.id, key: r.key, name: r.name, kind: r.kind, origin: r.origin,
      buin: r.buin, appId: r.app_id,
      encodingAesKey: r.aes_key && box ? box.open(r.aes_key) : null,
      rights: JSON.parse(r.rights) as AppRight[],
      visibility: JSON.parse(r.visibility) as AppVisibility,
      enabled: r.enabled === 1, tokenGen: r.token_gen,
      callbackUrl: r.callback_url,
      callbackToken: r.callback_token && box ? box.open(r.callback_token) : null,
      profile: { description: r.description, logo: r.logo, homeUrl: r.home_url, mobileUrl: r.mobile_url, managers: JSON.parse(r.managers) as UserId[] },
      version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }

  private ensureLoaded(): void {
    if (!this.loaded) this.reload();
  }

  list(): OpenApp[] {
    this.ensureLoaded();
    return [...this.byRow.values()];
  }

  get(rowId: number): OpenApp | null {
    this.ensureLoaded();
    return this.byRow.get(rowId) ?? null;
  }

  byKey(key: string): OpenApp | null {
    this.ensureLoaded();
    for (const a of this.byRow.values()) if (a.key === key) return a;
    return null;
  }

  /** The app the open API knows as (buin, appId), or null. */
  byAppId(buin: number, appId: string): OpenApp | null {
    this.ensureLoaded();
    return this.byBuinAppId.get(`${buin}:${appId}`) ?? null;
  }

  /** Every app with this appId, whatever its buin (the special envelope carries no buin). */
  byAppIdAnyBuin(appId: string): OpenApp[] {
    this.ensureLoaded();
    return [...this.byRow.values()].filter((a) => a.appId === appId);
  }

  /** The app's cipher (its EncodingAESKey and appId suffix); null without open-API access. */
  cipher(app: OpenApp): AppCipher | null {
    if (!app.encodingAesKey || !app.appId) return null;
    const c = this.ciphers.get(app.rowId);
    if (c && c.key === app.encodingAesKey) return c.cipher;
    const cipher = new AppCipher(app.encodingAesKey, app.appId);
    this.ciphers.set(app.rowId, { key: app.encodingAesKey, cipher });
    return cipher;
  }

  /**
   * Makes an app. Without appId/key they are generated; with them (moving
   * from an existing installation) they are checked and kept, so integrations
   * keep working unchanged.
   */
  async create(input: AppCreate, origin = 'console'): Promise<OpenApp> {
    this.ensureLoaded();
    const name = checkName(input.name);
    const buin = input.buin ?? (await this.defaultBuin());
    if (!Number.isInteger(buin) || buin <= 0 || buin > 2_147_483_647) throw new GatewayError('GW_BAD_REQUEST', 'buin must be a positive integer');
    const appId = input.appId ?? `yd${randomBytes(16).toString('hex').toUpperCase()}`;
    if (typeof appId !== 'string' || !APP_ID_RE.test(appId)) throw new GatewayError('GW_BAD_REQUEST', 'appId must be 1–64 letters, digits, _ or -');
    const aesKey = input.encodingAesKey ?? newEncodingAesKey();
    checkAesKey(aesKey);
    if (this.byBuinAppId.has(`${buin}:${appId}`)) throw new GatewayError('GW_CONFLICT', `an app ${appId} already exists under buin ${buin}`);
    const rights = checkRights(input.rights ?? [...CUSTOM_APP_RIGHTS]);
    const visibility = checkVisibility(input.visibility ?? { all: true });
    const callbackUrl = checkCallbackUrl(input.callbackUrl ?? null);
    const callbackToken = checkCallbackToken(input.callbackToken ?? null);
    const p = input.profile ?? {};
    const profile = [checkDescription(p.description), this.checkLogo(p.logo ?? null), checkHomeUrl(p.homeUrl), checkMobileUrl(p.mobileUrl), JSON.stringify(checkManagers(p.managers))];
    const box = this.box();
    const now = this.now();
    const key = this.freeKey(appId, buin);
    const id = Number(
      this.db
        .prepare(
          `INSERT INTO apps (key, name, origin, created_at, buin, app_id, aes_key, kind, rights, visibility, enabled, token_gen, version, updated_at, callback_url, callback_token,
             description, logo, home_url, mobile_url, managers)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(key, name, origin, now, buin, appId, box.seal(aesKey), input.kind ?? 'custom', JSON.stringify(rights), JSON.stringify(visibility), now, callbackUrl, callbackToken ? box.seal(callbackToken) : null, ...profile).lastInsertRowid,
    );
    const app = this.fromRow(this.db.prepare('SELECT * FROM apps WHERE id = ?').get(id) as AppRow);
    this.cache(app);
    this.bus.publish({ type: 'apps.changed' });
    return app;
  }

  /** The conversation key clients see: the appId when free, else appId@buin. */
  private freeKey(appId: string, buin: number): string {
    const taken = (k: string) => this.db.prepare('SELECT 1 FROM apps WHERE key = ?').get(k) !== undefined;
    if (!taken(appId)) return appId;
    const k = `${appId}@${buin}`;
    if (!taken(k)) return k;
    return `${k}-${randomBytes(3).toString('hex')}`;
  }

  async update(rowId: number, patch: AppPatch, expectedVersion?: number): Promise<OpenApp> {
    const app = this.must(rowId);
    if (expectedVersion !== undefined && expectedVersion !== app.version) throw new GatewayError('GW_CONFLICT', 'the app was changed by someone else; reload and try again');
    const sets: string[] = [];
    const args: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      args.push(value);
    };
    const box = this.box();
    if (patch.name !== undefined) set('name', checkName(patch.name));
    if (patch.rights !== undefined) set('rights', JSON.stringify(checkRights(patch.rights)));
    if (patch.visibility !== undefined) set('visibility', JSON.stringify(checkVisibility(patch.visibility)));
    if (patch.callbackUrl !== undefined) set('callback_url', checkCallbackUrl(patch.callbackUrl));
    if (patch.callbackToken !== undefined) {
      const t = checkCallbackToken(patch.callbackToken);
      set('callback_token', t ? box.seal(t) : null);
    }
    if (patch.description !== undefined) set('description', checkDescription(patch.description));
    if (patch.logo !== undefined) set('logo', this.checkLogo(patch.logo));
    if (patch.homeUrl !== undefined) set('home_url', checkHomeUrl(patch.homeUrl));
    if (patch.mobileUrl !== undefined) set('mobile_url', checkMobileUrl(patch.mobileUrl));
    if (patch.managers !== undefined) set('managers', JSON.stringify(checkManagers(patch.managers)));
    if (patch.enabled !== undefined) {
      if (typeof patch.enabled !== 'boolean') throw new GatewayError('GW_BAD_REQUEST', 'enabled must be true or false');
      set('enabled', patch.enabled ? 1 : 0);
      // disabling ends every token at once
      if (!patch.enabled && app.enabled) sets.push('token_gen = token_gen + 1');
    }
    return this.write(app, sets, args);
  }

  /**
   * Stores a logo image (PNG or JPEG, checked by its first bytes, at most
   * MAX_LOGO_BYTES) and returns its name for AppPatch.logo. Idempotent: the
   * same bytes give the same name.
   */
  putLogo(bytes: Buffer): string {
    const { mime, ext } = sniffLogo(bytes);
    const name = logoName(bytes, ext);
    this.db.prepare('INSERT OR IGNORE INTO app_logos (name, mime, bytes, created_at) VALUES (?, ?, ?, ?)').run(name, mime, bytes, this.now());
    return name;
  }

  /** A stored logo by its name, or null (names that are not logo names are never looked up). */
  logo(name: string): { mime: string; bytes: Buffer } | null {
    if (!LOGO_NAME_RE.test(name)) return null;
    return (this.db.prepare('SELECT mime, bytes FROM app_logos WHERE name = ?').get(name) as { mime: string; bytes: Buffer } | undefined) ?? null;
  }

  private checkLogo(v: unknown): string | null {
    if (v === null) return null;
    if (typeof v !== 'string' || !LOGO_NAME_RE.test(v) || !this.db.prepare('SELECT 1 FROM app_logos WHERE name = ?').get(v)) {
      throw new GatewayError('GW_BAD_REQUEST', 'logo must be the name of an uploaded logo');
    }
    return v;
  }

  /** A new EncodingAESKey; every token of the app ends (its integrations must take the new key). */
  async regenerateKey(rowId: number): Promise<OpenApp> {
    const app = this.must(rowId);
    if (!app.appId) throw new GatewayError('GW_BAD_REQUEST', 'the app has no open-API access');
    return this.write(app, ['aes_key = ?', 'token_gen = token_gen + 1'], [this.box().seal(newEncodingAesKey())]);
  }

  /** Deletes a custom app; its messages stay in people's history. */
  async delete(rowId: number): Promise<void> {
    const app = this.must(rowId);
    if (app.kind !== 'custom') throw new GatewayError('GW_FORBIDDEN', 'built-in and system apps cannot be deleted; disable them instead');
    this.db.prepare('UPDATE apps SET app_id = NULL, aes_key = NULL, enabled = 0, token_gen = token_gen + 1, kind = kind, updated_at = ?, version = version + 1 WHERE id = ?').run(this.now(), rowId);
    this.db.prepare("UPDATE apps SET origin = 'deleted' WHERE id = ?").run(rowId);
    this.cache(this.fromRow(this.db.prepare('SELECT * FROM apps WHERE id = ?').get(rowId) as AppRow));
    this.bus.publish({ type: 'apps.changed' });
  }

  private write(app: OpenApp, sets: string[], args: unknown[]): OpenApp {
    if (sets.length === 0) return app;
    this.db.prepare(`UPDATE apps SET ${sets.join(', ')}, version = version + 1, updated_at = ? WHERE id = ?`).run(...args, this.now(), app.rowId);
    const next = this.fromRow(this.db.prepare('SELECT * FROM apps WHERE id = ?').get(app.rowId) as AppRow);
    this.cache(next);
    this.bus.publish({ type: 'apps.changed' });
    return next;
  }

  private must(rowId: number): OpenApp {
    const app = this.get(rowId);
    if (!app || app.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${rowId} does not exist`);
    return app;
  }

  /** The enabled apps people see in their app list that `userId` may see (docs/protocol/client-v1.md "apps.list"). */
  visibleTo(userId: UserId): OpenApp[] {
    return visibleApps(this.db, this.list(), userId);
  }

  /**
   * Of `userIds`, those outside the app's visibility (departments count with
   * their subdepartments). Empty when the app sees everyone.
   */
  outsideVisibility(app: OpenApp, userIds: readonly UserId[]): UserId[] {
    const v = app.visibility;
    if (v.all || userIds.length === 0) return [];
    const visible = new Set<number>(v.users);
    if (v.depts.length > 0) {
      const rows = this.db
        .prepare(
          `WITH RECURSIVE sub(id) AS (SELECT value FROM json_each(?) UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id)
           SELECT DISTINCT ud.user_id AS id FROM user_departments ud JOIN sub ON ud.dept_id = sub.id`,
        )
        .all(JSON.stringify(v.depts)) as { id: number }[];
      for (const r of rows) visible.add(r.id);
    }
    return userIds.filter((u) => !visible.has(u));
  }
}

function checkName(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw new GatewayError('GW_BAD_REQUEST', 'the app needs a name');
  if (v.trim().length > MAX_NAME_CHARS) throw new GatewayError('GW_BAD_REQUEST', `the app name is longer than ${MAX_NAME_CHARS} characters`);
  return v.trim();
}

function checkAesKey(v: unknown): void {
  try {
    decodeAesKey(v as string);
  } catch (e) {
    throw new GatewayError('GW_BAD_REQUEST', e instanceof CryptoError ? e.message : 'bad EncodingAESKey');
  }
}

function checkRights(v: unknown): AppRight[] {
  if (!Array.isArray(v) || !v.every((r) => (APP_RIGHTS as readonly string[]).includes(r as string))) {
    throw new GatewayError('GW_BAD_REQUEST', `rights must be some of ${APP_RIGHTS.join(', ')}`);
  }
  return [...new Set(v as AppRight[])];
}

function checkVisibility(v: unknown): AppVisibility {
  const o = v as { all?: unknown; depts?: unknown; users?: unknown } | null;
  if (!o || typeof o !== 'object') throw new GatewayError('GW_BAD_REQUEST', 'visibility must be {all: true} or {depts, users}');
  if (o.all === true) return { all: true };
  const ids = (x: unknown, what: string): number[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x) || x.length > MAX_VISIBLE_ITEMS || !x.every((i) => Number.isSafeInteger(i) && (i as number) > 0)) {
      throw new GatewayError('GW_BAD_REQUEST', `visibility.${what} must be at most ${MAX_VISIBLE_ITEMS} ids`);
    }
    return [...new Set(x as number[])];
  };
  return { depts: ids(o.depts, 'depts') as DeptId[], users: ids(o.users, 'users') as UserId[] };
}

function checkCallbackUrl(v: unknown): string | null {
  if (v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > 2048) throw new GatewayError('GW_BAD_REQUEST', 'the callback URL is too long');
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new GatewayError('GW_BAD_REQUEST', 'the callback URL is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GatewayError('GW_BAD_REQUEST', 'the callback URL must be http or https');
  if (u.username || u.password) throw new GatewayError('GW_BAD_REQUEST', 'the callback URL must not carry a user or password');
  return v;
}

function checkCallbackToken(v: unknown): string | null {
  if (v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_CALLBACK_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(v)) {
    throw new GatewayError('GW_BAD_REQUEST', `the callback Token must be 1–${MAX_CALLBACK_TOKEN_CHARS} printable ASCII characters`);
  }
  return v;
}
