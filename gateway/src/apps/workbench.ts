import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import { packageRoot, type Db } from '../storage/sqlite.js';
import { checkHomeUrl } from './profile.js';

/** Longest workbench title, in characters (F-4.1). */
export const MAX_WORKBENCH_TITLE_CHARS = 18;
/** Largest custom banner image (PNG or JPEG). */
export const MAX_BANNER_BYTES = 1024 * 1024;
/** Most banners the workbench carries. */
export const MAX_BANNERS = 10;
/** The public URL path of banner images: GET BANNER_PATH/NAME. */
export const BANNER_PATH = '/api/workbench-banners';
/** The built-in banners shipped with the product (gateway/assets/workbench/default-N.jpg). */
export const DEFAULT_BANNERS = ['default-1', 'default-2', 'default-3', 'default-4', 'default-5', 'default-6'] as const;
/** A custom banner's name: the sha256 of its bytes and its type. */
export const BANNER_NAME_RE = /^[0-9a-f]{64}\.(png|jpg)$/;
const DEFAULT_DIR = path.join(packageRoot(), 'gateway', 'assets', 'workbench');

export interface Banner {
  /** `default-1`…`default-6`, or the name of an uploaded image. */
  image: string;
  /** An http(s) URL the banner opens, or null. */
  link: string | null;
}

export interface WorkbenchSettings {
  title: string;
  banners: Banner[];
  version: number;
  updatedAt: number;
}

/** The public URL path of a banner image. */
export function bannerUrl(image: string): string {
  return DEFAULT_BANNERS.includes(image as (typeof DEFAULT_BANNERS)[number]) ? `${BANNER_PATH}/${image}.jpg` : `${BANNER_PATH}/${image}`;
}

/**
 * The type of a banner image from its first bytes (never from a name or a
 * header), or GW_BAD_REQUEST / GW_FILE_TOO_LARGE. PNG: the signature and an
 * IHDR chunk; JPEG: SOI and a marker.
 */
export function sniffBanner(bytes: Buffer): { mime: 'image/png' | 'image/jpeg'; ext: 'png' | 'jpg' } {
  if (bytes.length === 0) throw new GatewayError('GW_BAD_REQUEST', 'the image is empty');
  if (bytes.length > MAX_BANNER_BYTES) throw new GatewayError('GW_FILE_TOO_LARGE', `the image is larger than ${MAX_BANNER_BYTES / 1024 / 1024} MB`);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(png) && bytes.subarray(12, 16).toString('latin1') === 'IHDR') return { mime: 'image/png', ext: 'png' };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { mime: 'image/jpeg', ext: 'jpg' };
  throw new GatewayError('GW_BAD_REQUEST', 'the image must be a PNG or JPEG');
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export function checkWorkbenchTitle(v: unknown): string {
  if (typeof v !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'title must be a string');
  const t = v.trim();
  const n = [...t].length;
  if (n < 1 || n > MAX_WORKBENCH_TITLE_CHARS) throw new GatewayError('GW_BAD_REQUEST', `title must be 1–${MAX_WORKBENCH_TITLE_CHARS} characters`);
  if (CONTROL_RE.test(t)) throw new GatewayError('GW_BAD_REQUEST', 'title contains control characters');
  return t;
}

/**
 * The workbench's title and banners (F-4.1; docs/admin-api-portal.md): one
 * row, versioned; custom banner images in their own table, named by their
 * sha256. Every change publishes `portal.changed`.
 */
export class WorkbenchService {
  private readonly defaults = new Map<string, Buffer>();

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
  ) {}

  get(): WorkbenchSettings {
    const r = this.db.prepare('SELECT title, banners, version, updated_at FROM workbench WHERE id = 1').get() as { title: string; banners: string; version: number; updated_at: number };
    return { title: r.title, banners: JSON.parse(r.banners) as Banner[], version: r.version, updatedAt: r.updated_at };
  }

  /** Changes the title and/or the banners; GW_CONFLICT when `version` is not the current one. */
  update(patch: { title?: unknown; banners?: unknown }, version: number): WorkbenchSettings {
    const title = patch.title === undefined ? undefined : checkWorkbenchTitle(patch.title);
    const banners = patch.banners === undefined ? undefined : this.checkBanners(patch.banners);
    const r = this.db
      .prepare('UPDATE workbench SET title = COALESCE(?, title), banners = COALESCE(?, banners), version = version + 1, updated_at = ? WHERE id = 1 AND version = ?')
      .run(title ?? null, banners ? JSON.stringify(banners) : null, this.now(), version);
    if (r.changes === 0) throw new GatewayError('GW_CONFLICT', 'the workbench was changed by someone else; reload and try again', { details: { version: this.get().version } });
    this.bus.publish({ type: 'portal.changed' });
    return this.get();
  }

  private checkBanners(v: unknown): Banner[] {
    if (!Array.isArray(v) || v.length > MAX_BANNERS) throw new GatewayError('GW_BAD_REQUEST', `banners must be a list of at most ${MAX_BANNERS}`);
    return v.map((b: unknown, i): Banner => {
      const o = b as { image?: unknown; link?: unknown } | null;
      if (!o || typeof o !== 'object' || Array.isArray(o)) throw new GatewayError('GW_BAD_REQUEST', `banners[${i}] must be {image, link}`);
      for (const k of Object.keys(o)) if (k !== 'image' && k !== 'link') throw new GatewayError('GW_BAD_REQUEST', `banners[${i}]: unknown field ${k.slice(0, 40)}`);
      const image = o.image;
      const known = typeof image === 'string' && (DEFAULT_BANNERS.includes(image as (typeof DEFAULT_BANNERS)[number]) || (BANNER_NAME_RE.test(image) && this.image(image) !== null));
      if (!known) throw new GatewayError('GW_BAD_REQUEST', `banners[${i}].image must be one of ${DEFAULT_BANNERS.join(', ')} or the name of an uploaded image`);
      return { image, link: checkHomeUrl(o.link, `banners[${i}].link`) };
    });
  }

  /** Stores a custom banner image and returns its name (idempotent: the same bytes give the same name). */
  putImage(bytes: Buffer): string {
    const { mime, ext } = sniffBanner(bytes);
    const name = `${createHash('sha256').update(bytes).digest('hex')}.${ext}`;
    this.db.prepare('INSERT OR IGNORE INTO workbench_images (name, mime, bytes, created_at) VALUES (?, ?, ?, ?)').run(name, mime, bytes, this.now());
    return name;
  }

  /** A banner image by the last part of its URL (`default-N.jpg` or an uploaded name), or null. */
  image(name: string): { mime: string; bytes: Buffer; builtIn: boolean } | null {
    const d = /^(default-[1-6])\.jpg$/.exec(name);
    if (d) return { mime: 'image/jpeg', bytes: this.defaultImage(d[1] as string), builtIn: true };
    if (!BANNER_NAME_RE.test(name)) return null;
    const r = this.db.prepare('SELECT mime, bytes FROM workbench_images WHERE name = ?').get(name) as { mime: string; bytes: Buffer } | undefined;
    return r ? { ...r, builtIn: false } : null;
  }

  private defaultImage(id: string): Buffer {
    let b = this.defaults.get(id);
    if (!b) {
      b = readFileSync(path.join(DEFAULT_DIR, `${id}.jpg`));
      this.defaults.set(id, b);
    }
    return b;
  }
}
