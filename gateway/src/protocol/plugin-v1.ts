import { BadFrameError, encodeJsonFrame, FrameDecoder, parseJsonFrame } from './framing.js';

/**
 * The plugin channel, version 1: the link between the gateway (port 7014) and
 * the RTX adapter, a separate program on another host. Wire types, constants
 * and validators only — no I/O, no server code — so the adapter imports this
 * file (and plugin-session.ts) and nothing else of the gateway.
 * docs/protocol/plugin-v1.md is the specification.
 *
 * The channel is payload-agnostic: a data frame carries `{seq, type, body}`
 * where `type` names a payload (im.send, im.captured, org.snapshot…) defined by
 * the services that use the channel, and `body` is any JSON value.
 */

/** The version this code speaks; `hello.versions` lists what the adapter speaks. */
export const PLUGIN_PROTOCOL_VERSION = 1;
/** Every version this code can speak, oldest first. */
export const PLUGIN_SUPPORTED_VERSIONS: readonly number[] = Object.freeze([1]);
/** Default TCP port of the channel (config `plugin.port`). */
export const PLUGIN_DEFAULT_PORT = 7014;
/** Largest frame either side may send: bytes of UTF-8 JSON, without the 4-byte length header. */
export const PLUGIN_MAX_FRAME_BYTES = 1024 * 1024;
/** `hello` must arrive within this time of the (TLS) connection being up, and `welcome` within it of `hello`. */
export const PLUGIN_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Each side sends `ping` when it has sent nothing for this long. */
export const PLUGIN_HEARTBEAT_INTERVAL_MS = 15_000;
/** Each side closes the connection when nothing at all arrived for this long. */
export const PLUGIN_IDLE_TIMEOUT_MS = 45_000;
/** Most data frames one side may have written and not yet seen acknowledged (the window). */
export const PLUGIN_MAX_UNACKED = 256;
/** Reconnect backoff of the adapter: doubling from the first delay up to the last, with equal jitter. */
export const PLUGIN_RECONNECT_MIN_DELAY_MS = 500;
export const PLUGIN_RECONNECT_MAX_DELAY_MS = 30_000;
/** A connection that stayed up this long resets the backoff to its first step. */
export const PLUGIN_RECONNECT_STABLE_MS = 10_000;
/** After a refused connection code the adapter waits at least this long (the gateway rate-limits wrong codes). */
export const PLUGIN_BAD_CODE_RETRY_MS = 60_000;
/** Wrong connection codes one remote address may send per window before it is refused as rate-limited. */
export const PLUGIN_BAD_CODES_PER_WINDOW = 5;
export const PLUGIN_BAD_CODE_WINDOW_MS = 60_000;

/** Adapter ids: what `hello.adapterId` may be. */
export const ADAPTER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Payload types: what `data.type` may be (lower-case dotted words: `im.send`, `org.snapshot`). */
export const PAYLOAD_TYPE_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
export const MAX_PAYLOAD_TYPE_CHARS = 64;
export const MAX_CODE_CHARS = 128;
const MAX_NAME_CHARS = 200;

/** Frame types of the channel (`t` of every frame). */
export enum PluginFrameType {
  Hello = 'hello',
  Welcome = 'welcome',
  Data = 'data',
  Ack = 'ack',
  Ping = 'ping',
  Bye = 'bye',
}

/**
 * Codes a `bye` may carry. The `GW_*` ones are gateway error codes
 * (gateway/src/errors/registry.ts, docs/errors.md); `OK` is a clean close.
 */
export const PLUGIN_CLOSE_CODES = [
  'OK',
  'GW_BAD_FRAME',
  'GW_FRAME_TOO_LARGE',
  'GW_VERSION_UNSUPPORTED',
  'GW_HANDSHAKE_REQUIRED',
  'GW_HANDSHAKE_TIMEOUT',
  'GW_HEARTBEAT_TIMEOUT',
  'GW_RATE_LIMITED',
  'GW_SERVER_SHUTDOWN',
  'GW_INTERNAL',
  'GW_PLUGIN_CODE_INVALID',
  'GW_PLUGIN_CODE_CHANGED',
  'GW_PLUGIN_REPLACED',
  'GW_PLUGIN_BUSY',
  'GW_PLUGIN_SEQUENCE',
] as const;
export type PluginCloseCode = (typeof PLUGIN_CLOSE_CODES)[number];

/** adapter → gateway, first frame. */
export interface HelloFrame {
  t: PluginFrameType.Hello;
  /** Protocol versions the adapter speaks; the gateway picks the highest it speaks too. */
  versions: number[];
  /** Stable id of the adapter's stream: generated with its database, so a new database is a new stream. */
  adapterId: string;
  /** The connection code shown in the console (Settings → RTX integration). */
  code: string;
  /** Highest seq from the gateway whose effect the adapter has durably processed (0 = none). */
  recvSeq: number;
  /** Display name (host name of the RTX server…), shown in the console. */
  name?: string;
  /** Adapter software and version, for the log and the console. */
  software?: string;
}

/** gateway → adapter, answer to a good hello. */
export interface WelcomeFrame {
  t: PluginFrameType.Welcome;
  /** The version chosen. */
  v: number;
  /** Highest seq from this adapter whose effect the gateway has durably processed (0 = none). */
  recvSeq: number;
  heartbeatIntervalMs: number;
  idleTimeoutMs: number;
  /** The window: most unacknowledged data frames either side may have on the wire. */
  maxUnacked: number;
  maxFrameBytes: number;
  /** Gateway software version. */
  server: string;
}

/** Either direction: one payload. `seq` is 1, 2, 3… per direction (per stream), never reused. */
export interface DataFrame {
  t: PluginFrameType.Data;
  seq: number;
  type: string;
  body: unknown;
}

/** Either direction, cumulative: every data frame with seq ≤ `seq` has been durably processed. */
export interface AckFrame {
  t: PluginFrameType.Ack;
  seq: number;
}

/** Either direction, when idle. Needs no answer: any frame counts as a sign of life. */
export interface PingFrame {
  t: PluginFrameType.Ping;
}

/** Either direction, last frame before closing. */
export interface ByeFrame {
  t: PluginFrameType.Bye;
  code: PluginCloseCode;
  message: string;
  /** Wait at least this long before reconnecting (GW_RATE_LIMITED, GW_PLUGIN_BUSY). */
  retryAfterMs?: number;
  /** With GW_VERSION_UNSUPPORTED: the versions the gateway speaks. */
  supported?: number[];
}

export type PluginFrame = HelloFrame | WelcomeFrame | DataFrame | AckFrame | PingFrame | ByeFrame;

/** A refused frame: the connection is closed with `code` and `message` (safe to show and log). */
export class PluginProtocolError extends Error {
  constructor(
    readonly code: PluginCloseCode,
    message: string,
  ) {
    super(message);
    this.name = 'PluginProtocolError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const bad = (message: string) => new PluginProtocolError('GW_BAD_FRAME', message);

function optString(o: Record<string, unknown>, key: string, max: number): void {
  const v = o[key];
  if (v !== undefined && (typeof v !== 'string' || v.length > max)) throw bad(`${key} must be a string of at most ${max} characters`);
}

function onlyKeys(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`unknown field ${k.slice(0, 40)} in ${String(o.t)}`);
}

/**
 * Checks a parsed frame against the v1 shapes and returns it typed. Throws
 * PluginProtocolError (GW_BAD_FRAME) naming the problem. Unknown fields are
 * refused so that a peer's mistakes show at once rather than being ignored.
 */
export function validatePluginFrame(v: unknown): PluginFrame {
  if (!isObj(v)) throw bad('a frame must be a JSON object');
  switch (v.t) {
    case PluginFrameType.Hello: {
      onlyKeys(v, ['t', 'versions', 'adapterId', 'code', 'recvSeq', 'name', 'software']);
      if (!Array.isArray(v.versions) || v.versions.length === 0 || v.versions.length > 16 || !v.versions.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) {
        throw bad('hello.versions must be a non-empty list of protocol versions');
      }
      if (typeof v.adapterId !== 'string' || !ADAPTER_ID_RE.test(v.adapterId)) throw bad('hello.adapterId must be 1–64 characters: letters, digits, . _ : -');
      if (typeof v.code !== 'string' || v.code.length === 0 || v.code.length > MAX_CODE_CHARS) throw bad('hello.code must be the connection code');
      if (!isSeq(v.recvSeq)) throw bad('hello.recvSeq must be an integer ≥ 0');
      optString(v, 'name', MAX_NAME_CHARS);
      optString(v, 'software', MAX_NAME_CHARS);
      return v as unknown as HelloFrame;
    }
    case PluginFrameType.Welcome: {
      onlyKeys(v, ['t', 'v', 'recvSeq', 'heartbeatIntervalMs', 'idleTimeoutMs', 'maxUnacked', 'maxFrameBytes', 'server']);
      if (!Number.isSafeInteger(v.v)) throw bad('welcome.v must be an integer');
      if (!isSeq(v.recvSeq)) throw bad('welcome.recvSeq must be an integer ≥ 0');
      for (const k of ['heartbeatIntervalMs', 'idleTimeoutMs', 'maxUnacked', 'maxFrameBytes']) {
        if (!Number.isSafeInteger(v[k]) || (v[k] as number) < 1) throw bad(`welcome.${k} must be a positive integer`);
      }
      optString(v, 'server', MAX_NAME_CHARS);
      return v as unknown as WelcomeFrame;
    }
    case PluginFrameType.Data: {
      onlyKeys(v, ['t', 'seq', 'type', 'body']);
      if (!isSeq(v.seq) || v.seq < 1) throw bad('data.seq must be an integer ≥ 1');
      if (typeof v.type !== 'string' || v.type.length > MAX_PAYLOAD_TYPE_CHARS || !PAYLOAD_TYPE_RE.test(v.type)) throw bad('data.type must be a payload type such as im.send');
      if (!('body' in v)) throw bad('data.body is required (null is allowed)');
      return v as unknown as DataFrame;
    }
    case PluginFrameType.Ack:
      onlyKeys(v, ['t', 'seq']);
      if (!isSeq(v.seq)) throw bad('ack.seq must be an integer ≥ 0');
      return v as unknown as AckFrame;
    case PluginFrameType.Ping:
      onlyKeys(v, ['t']);
      return v as unknown as PingFrame;
    case PluginFrameType.Bye:
      onlyKeys(v, ['t', 'code', 'message', 'retryAfterMs', 'supported']);
      if (typeof v.code !== 'string' || v.code.length > 64) throw bad('bye.code must be a close code');
      if (typeof v.message !== 'string') throw bad('bye.message must be a string');
      return v as unknown as ByeFrame;
    default:
      throw bad(typeof v.t === 'string' ? `unknown frame type ${v.t.slice(0, 40)}` : 'a frame needs a type t');
  }
}

/** Parses and validates one frame body (bytes after the length header). Throws PluginProtocolError. */
export function decodePluginFrame(body: Uint8Array): PluginFrame {
  let parsed: unknown;
  try {
    parsed = parseJsonFrame(body);
  } catch (e) {
    throw bad(e instanceof BadFrameError ? e.message : 'frame is not valid JSON');
  }
  return validatePluginFrame(parsed);
}

/** Encodes a frame with its length header. Throws FrameTooLargeError beyond PLUGIN_MAX_FRAME_BYTES. */
export function encodePluginFrame(frame: PluginFrame, maxFrameBytes = PLUGIN_MAX_FRAME_BYTES): Buffer {
  return encodeJsonFrame(frame, maxFrameBytes);
}

/** A decoder for a channel's byte stream, refusing length headers over the limit before buffering. */
export function pluginFrameDecoder(maxFrameBytes = PLUGIN_MAX_FRAME_BYTES): FrameDecoder {
  return new FrameDecoder(maxFrameBytes);
}

/** Picks the version both sides speak: the highest of `offered` that this code supports, or null. */
export function negotiateVersion(offered: readonly number[], supported: readonly number[] = PLUGIN_SUPPORTED_VERSIONS): number | null {
  let best: number | null = null;
  for (const v of offered) if (supported.includes(v) && (best === null || v > best)) best = v;
  return best;
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first): doubling from
 * minDelayMs up to maxDelayMs, the upper half randomised ("equal jitter") so
 * that an adapter does not return in step with a restarting gateway's other
 * peers, and never below minDelayMs.
 */
export function reconnectDelayMs(
  attempt: number,
  minDelayMs = PLUGIN_RECONNECT_MIN_DELAY_MS,
  maxDelayMs = PLUGIN_RECONNECT_MAX_DELAY_MS,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(minDelayMs, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

/** Bytes the data frame for this payload would take on the wire (without the length header), for a given seq. */
export function dataFrameBytes(seq: number, type: string, body: unknown): number {
  return Buffer.byteLength(JSON.stringify({ t: PluginFrameType.Data, seq, type, body }), 'utf8');
}
