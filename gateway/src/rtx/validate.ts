import {
  BridgePayloadError,
  ORG_PAGE_MAX_ITEMS,
  type OrgBegin,
  type OrgEnd,
  type OrgPage,
  type PresenceUpdate,
} from '../protocol/rtx-bridge-v1.js';

/**
 * Checks of the rtx.org.* and rtx.presence payloads (the bridge file has the
 * message ones). Shapes only: the items of a page are checked one by one by
 * the planner, which skips a bad item with a warning instead of refusing the
 * whole snapshot.
 */

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BridgePayloadError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

const SNAPSHOT_ID_RE = /^[\x21-\x7e]{1,128}$/;
const SOURCES = ['com', 'xml', 'mdb', 'other'];

function snapshotId(o: Record<string, unknown>, what: string): string {
  if (typeof o.snapshotId !== 'string' || !SNAPSHOT_ID_RE.test(o.snapshotId)) throw new BridgePayloadError(`${what}.snapshotId must be 1–128 printable ASCII characters`);
  return o.snapshotId;
}

function count(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new BridgePayloadError(`${what} must be a non-negative integer`);
  return v as number;
}

export function checkOrgBegin(v: unknown): OrgBegin {
  const o = obj(v, 'rtx.org.begin');
  snapshotId(o, 'rtx.org.begin');
  if (typeof o.source !== 'string' || !SOURCES.includes(o.source)) throw new BridgePayloadError(`rtx.org.begin.source must be one of ${SOURCES.join(', ')}`);
  const c = obj(o.counts, 'rtx.org.begin.counts');
  for (const k of ['depts', 'users', 'groups']) count(c[k], `rtx.org.begin.counts.${k}`);
  if (o.reason !== undefined && (typeof o.reason !== 'string' || o.reason.length > 256)) throw new BridgePayloadError('rtx.org.begin.reason must be a string of at most 256 characters');
  return o as unknown as OrgBegin;
}

export function checkOrgPage(v: unknown, type: string): OrgPage<unknown> {
  const o = obj(v, type);
  snapshotId(o, type);
  count(o.page, `${type}.page`);
  if (!Array.isArray(o.items) || o.items.length > ORG_PAGE_MAX_ITEMS) throw new BridgePayloadError(`${type}.items must be a list of at most ${ORG_PAGE_MAX_ITEMS} items`);
  return o as unknown as OrgPage<unknown>;
}

export function checkOrgEnd(v: unknown): OrgEnd {
  const o = obj(v, 'rtx.org.end');
  snapshotId(o, 'rtx.org.end');
  const p = obj(o.pages, 'rtx.org.end.pages');
  for (const k of ['depts', 'users', 'groups']) count(p[k], `rtx.org.end.pages.${k}`);
  return o as unknown as OrgEnd;
}

const PRESENCE_STATES = ['offline', 'online', 'away'];

export function checkPresence(v: unknown): PresenceUpdate {
  const o = obj(v, 'rtx.presence');
  if (typeof o.full !== 'boolean') throw new BridgePayloadError('rtx.presence.full must be a boolean');
  if (!Array.isArray(o.items) || o.items.length > 100_000) throw new BridgePayloadError('rtx.presence.items must be a list');
  for (const it of o.items) {
    const i = obj(it, 'rtx.presence.items[]');
    if (typeof i.account !== 'string' || i.account === '' || i.account.length > 256) throw new BridgePayloadError('rtx.presence.items[].account must be a non-empty string');
    if (typeof i.state !== 'string' || !PRESENCE_STATES.includes(i.state)) throw new BridgePayloadError('rtx.presence.items[].state must be offline, online or away');
  }
  return o as unknown as PresenceUpdate;
}
