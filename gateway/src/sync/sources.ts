import { GatewayError } from '../errors/gateway-error.js';
import { SecretBox, SecretBoxError } from '../settings/secret-box.js';
import { cronProblem, describeCron, nextRun } from '../../../sync/src/engine/cron.js';
import type { SourceKind, SourceKindRegistry } from '../../../sync/src/engine/registry.js';
import { DEFAULT_MATCHING, type MatchingPolicy, type MatchKey } from '../../../sync/src/engine/types.js';
import { matchingOf, type SourceRow, type SyncRunStore } from './run-store.js';
import type { SourceInput, SourceView } from './types.js';

export const SOURCE_ID_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MAX_CONFIG_BYTES = 64 * 1024;
export const DEFAULT_BRAKE_PERCENT = 10;
export const DEFAULT_DELETION_DAYS = 30;
const MAX_DELETION_DAYS = 3650;
const MATCH_KEYS: readonly MatchKey[] = ['account', 'email', 'mobile'];
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);

/**
 * Configured sources: validation, secrets sealed at rest and never shown,
 * and views for the console. Schedules are validated here; the scheduler
 * reads next_run_at.
 */
export class SourceConfigs {
  constructor(
    private readonly store: SyncRunStore,
    private readonly kinds: SourceKindRegistry,
    private readonly box: () => SecretBox,
    private readonly now: () => number,
  ) {}

  kind(kind: string): SourceKind {
    const k = this.kinds.get(kind);
    if (!k) throw bad(`unknown source kind ${String(kind).slice(0, 32)}; known: ${this.kinds.list().map((x) => x.kind).join(', ')}`);
    return k;
  }

  row(id: string): SourceRow {
    const r = typeof id === 'string' ? this.store.source(id) : null;
    if (!r) throw new GatewayError('GW_NOT_FOUND', `no sync source ${String(id).slice(0, 40)}`);
    return r;
  }

  view(r: SourceRow, runningRunId: number | null): SourceView {
    const spec = this.kinds.get(r.kind);
    const secret = new Set(spec?.secretFields ?? []);
    const config: Record<string, unknown> = {};
    const secretsSet: string[] = [];
    for (const [k, v] of Object.entries(JSON.parse(r.config) as Record<string, unknown>)) {
      // a sealed value is never shown, even under a field the kind no longer calls secret
      if (secret.has(k) || SecretBox.isSealed(v)) secretsSet.push(k);
      else config[k] = v;
    }
    return {
      id: r.id, kind: r.kind, name: r.name, origin: r.origin, config, secretsSet, schedule: r.schedule, scheduleText: r.schedule ? describeCron(r.schedule) : null,
      enabled: r.enabled === 1, matching: matchingOf(r), brakePercent: r.brake_percent, deletionDays: r.deletion_days, cursor: r.cursor, nextRunAt: r.next_run_at,
      lastRunId: r.last_run_id, lastError: r.last_error, runningRunId, createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }

  /** The config in clear, for the source's factory. */
  plainConfig(r: SourceRow): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(JSON.parse(r.config) as Record<string, unknown>)) {
      try {
        out[k] = SecretBox.isSealed(v) ? this.box().open(v) : v;
      } catch (e) {
        if (e instanceof SecretBoxError) throw new GatewayError('GW_CONFLICT', `the secret ${k} of source ${r.id} cannot be read with this data directory's key: enter it again`);
        throw e;
      }
    }
    return out;
  }

  create(input: SourceInput): SourceRow {
    const id = input.id;
    if (typeof id !== 'string' || !SOURCE_ID_RE.test(id)) throw bad('id must be 1–32 characters of a–z, 0–9 and -, starting with a letter or digit (e.g. corp-ad)');
    if (this.store.source(id)) throw new GatewayError('GW_CONFLICT', `a sync source ${id} exists already`);
    const spec = this.kind(input.kind as string);
    const schedule = scheduleOf(input.schedule ?? null);
    const enabled = input.enabled ?? true;
    const origin = `${spec.kind}:${id}`;
    const row = {
      id, kind: spec.kind, name: nameOf(input.name ?? id), origin,
      config: this.sealConfig(spec, input.config ?? {}, {}),
      schedule, enabled: enabled ? 1 : 0,
      matching: JSON.stringify(matchingField(input.matching ?? DEFAULT_MATCHING)),
      brake_percent: brakeOf(input.brakePercent ?? DEFAULT_BRAKE_PERCENT),
      deletion_days: deletionOf(input.deletionDays === undefined ? DEFAULT_DELETION_DAYS : input.deletionDays),
      next_run_at: schedule && enabled ? nextRun(schedule, this.now()) : null,
    };
    try {
      this.store.insertSource(row, this.now());
    } catch (e) {
      if (String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new GatewayError('GW_CONFLICT', `a sync source ${id} (or origin ${origin}) exists already`);
      throw e;
    }
    return this.row(id);
  }

  update(id: string, input: SourceInput): { before: SourceRow; after: SourceRow } {
    const before = this.row(id);
    if (input.id !== undefined && input.id !== id) throw bad('id cannot be changed');
    if (input.kind !== undefined && input.kind !== before.kind) throw bad('kind cannot be changed: create another source');
    const spec = this.kind(before.kind);
    const set: Parameters<SyncRunStore['updateSource']>[1] = {};
    if (input.name !== undefined) set.name = nameOf(input.name);
    if (input.config !== undefined) set.config = this.sealConfig(spec, input.config, JSON.parse(before.config) as Record<string, unknown>);
    if (input.matching !== undefined) set.matching = JSON.stringify(matchingField(input.matching));
    if (input.brakePercent !== undefined) set.brake_percent = brakeOf(input.brakePercent);
    if (input.deletionDays !== undefined) set.deletion_days = deletionOf(input.deletionDays);
    if (input.enabled !== undefined) {
      if (typeof input.enabled !== 'boolean') throw bad('enabled must be true or false');
      set.enabled = input.enabled ? 1 : 0;
    }
    const schedule = input.schedule !== undefined ? scheduleOf(input.schedule) : before.schedule;
    if (input.schedule !== undefined) set.schedule = schedule;
    if (input.schedule !== undefined || input.enabled !== undefined) {
      const enabled = set.enabled ?? before.enabled;
      // a new schedule starts from now: runs "missed" under the old one are not owed
      set.next_run_at = schedule && enabled === 1 ? nextRun(schedule, this.now()) : null;
    }
    this.store.updateSource(id, set, this.now());
    return { before, after: this.row(id) };
  }

  /** Merges a config patch over the stored one: secret fields absent keep their value, "" or null clears them; sealed on the way in. */
  private sealConfig(spec: SourceKind, input: unknown, stored: Record<string, unknown>): string {
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('config must be a JSON object');
    const secret = new Set(spec.secretFields ?? []);
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(stored)) plain[k] = SecretBox.isSealed(v) ? v : undefined;
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      if (secret.has(k)) {
        if (v === null || v === '') plain[k] = undefined;
        else if (typeof v === 'string') plain[k] = v;
        else throw bad(`config.${k} must be a string`);
      } else plain[k] = v;
    }
    // the kind checks the config in clear (a bind password included)
    const clear: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(plain)) if (v !== undefined) clear[k] = SecretBox.isSealed(v) ? this.box().open(v) : v;
    let checked: Record<string, unknown>;
    try {
      checked = spec.validateConfig ? spec.validateConfig(clear) : clear;
    } catch (e) {
      throw bad(`config: ${(e as Error).message}`.slice(0, 500));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(checked)) {
      if (v === undefined) continue;
      if (secret.has(k) && typeof v === 'string') out[k] = SecretBox.isSealed(v) ? v : this.box().seal(v);
      else if (SecretBox.isSealed(v)) out[k] = v;
      else out[k] = v;
    }
    const json = JSON.stringify(out);
    if (Buffer.byteLength(json) > MAX_CONFIG_BYTES) throw bad(`config is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    return json;
  }
}

function nameOf(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || [...v.trim()].length > 64 || CONTROL_RE.test(v)) throw bad('name must be 1–64 characters without control characters');
  return v.trim();
}

export function scheduleOf(v: unknown): string | null {
  if (v === null || v === '') return null;
  if (typeof v !== 'string') throw bad('schedule must be a cron expression or null');
  const p = cronProblem(v);
  if (p) throw bad(`schedule: ${p}`);
  return v.trim().replace(/\s+/g, ' ');
}

function matchingField(v: unknown): MatchingPolicy {
  const m = v as Partial<MatchingPolicy> | null;
  if (!m || typeof m !== 'object' || !Array.isArray(m.by) || m.by.length === 0 || m.by.length > 3 || m.by.some((k) => !MATCH_KEYS.includes(k)) || new Set(m.by).size !== m.by.length) {
    throw bad('matching.by must list account, email and/or mobile, each once, in priority order');
  }
  if (m.adopt !== undefined && typeof m.adopt !== 'boolean') throw bad('matching.adopt must be true or false');
  return { by: [...m.by], adopt: m.adopt ?? true };
}

function brakeOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw bad('brakePercent must be a number from 0 to 100');
  return v;
}

function deletionOf(v: unknown): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_DELETION_DAYS) throw bad(`deletionDays must be null (never delete) or an integer from 0 to ${MAX_DELETION_DAYS}`);
  return v;
}
