import type { Db } from '../storage/sqlite.js';
import { ipAllowListProblem } from './ip-allow.js';

/** Runtime settings an administrator changes while the server runs (the config file holds the rest). */
export interface Settings {
  /** F-3.5: authorise a user automatically at first login (if a seat is free). */
  autoAuthorise: boolean;
  /** F-6.1: default group member limit. */
  groupMemberLimit: number;
  /** F-6.1: limit for groups synced with RTX. */
  rtxGroupMemberLimit: number;
  /** F-6.4: largest file sent through the server (offline transfer), bytes. */
  offlineFileMaxBytes: number;
  /** F-6.4: largest online (p2p) transfer, bytes. */
  p2pFileMaxBytes: number;
  /** F-6.4: largest transfer to another company, bytes. */
  interCompanyFileMaxBytes: number;
  /** F-10.3: who may call the RTX-compatible SDK port (8012): addresses and CIDR blocks, `*` = everyone. */
  rtxSdkAllowIps: string;
  /** F-10.3: how SendIM.cgi checks `pwd`: `user` (the sender's own password) or `none` (not checked). */
  rtxSdkImPassword: string;
  /** The open API's enterprise number (buin) for apps made here; 0 until first needed, then chosen at random (docs/open-api.md "buin"). */
  openApiBuin: number;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  autoAuthorise: true,
  groupMemberLimit: 1000,
  rtxGroupMemberLimit: 80,
  offlineFileMaxBytes: 100 * 1024 * 1024,
  p2pFileMaxBytes: 2 * 1024 * 1024 * 1024,
  interCompanyFileMaxBytes: 50 * 1024 * 1024,
  rtxSdkAllowIps: '127.0.0.1/8,::1',
  rtxSdkImPassword: 'user',
  openApiBuin: 0,
});

/** Checks beyond the type, for settings whose type alone does not say enough: a problem, or null. */
const SETTING_CHECKS: Partial<Record<keyof Settings, (v: unknown) => string | null>> = {
  rtxSdkAllowIps: ipAllowListProblem,
  openApiBuin: (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2_147_483_647 ? null : 'must be an integer 1–2147483647'),
  rtxSdkImPassword: (v) => (v === 'user' || v === 'none' ? null : 'must be "user" or "none"'),
};

/** Storage of settings. get() is cheap (cached); set() is durable before it returns. */
export interface SettingsStore {
  get(): Readonly<Settings>;
  set(patch: Partial<Settings>): Promise<Readonly<Settings>>;
}

export class SqliteSettingsStore implements SettingsStore {
  private cache: Readonly<Settings>;

  constructor(private readonly db: Db) {
    this.cache = this.load();
  }

  private load(): Readonly<Settings> {
    const rows = this.db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const r of rows) if (r.key in DEFAULT_SETTINGS) out[r.key] = JSON.parse(r.value);
    return Object.freeze(out as unknown as Settings);
  }

  get(): Readonly<Settings> {
    return this.cache;
  }

  async set(patch: Partial<Settings>): Promise<Readonly<Settings>> {
    const up = this.db.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at');
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(patch)) {
        if (!(k in DEFAULT_SETTINGS)) throw new Error(`unknown setting ${k}`);
        if (typeof v !== typeof DEFAULT_SETTINGS[k as keyof Settings]) throw new Error(`setting ${k}: wrong type`);
        const problem = SETTING_CHECKS[k as keyof Settings]?.(v);
        if (problem) throw new Error(`setting ${k}: ${problem}`);
        up.run(k, JSON.stringify(v), Date.now());
      }
    })();
    this.cache = this.load();
    return this.cache;
  }
}
