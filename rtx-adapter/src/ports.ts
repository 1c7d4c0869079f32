import type { ImCaptured, RtxDept, RtxGroup, RtxUser } from '../../gateway/src/protocol/rtx-bridge-v1.js';

/**
 * The RTX side of the adapter, as the bridge core sees it: small interfaces, each with real
 * implementations (HTTP SDK on 8012, the COM helper, the export XML, IMWatch logs) so that any
 * of them can be swapped or faked. Every failure crossing a port is an RtxPortError with a
 * stable kind, never a raw socket/COM/parser error.
 */

/** Why an RTX call failed. */
export type RtxFailureKind =
  /** RTX cannot be reached now (connection refused/reset, timeout, helper down, server busy): retry later. */
  | 'UNREACHABLE'
  /** One or more accounts do not exist in RTX (`accounts` names them when known): do not retry. */
  | 'UNKNOWN_USER'
  /** RTX answered with an error that retrying will not fix (IP not allowed, bad password...). */
  | 'REFUSED'
  /** The request itself is wrong (empty text, no receivers). */
  | 'BAD_REQUEST'
  /** The answer could not be understood (not GBK text, not the expected shape). */
  | 'BAD_ANSWER';

export class RtxPortError extends Error {
  constructor(
    readonly kind: RtxFailureKind,
    message: string,
    /** Accounts RTX reported as unknown (UNKNOWN_USER). */
    readonly accounts: string[] = [],
    /** RTX's own return code (`Ret Code` header, COM code) when there is one. */
    readonly retCode?: number,
  ) {
    super(message);
    this.name = 'RtxPortError';
  }

  /** Worth retrying later (RTX down, busy, slow). */
  get transient(): boolean {
    return this.kind === 'UNREACHABLE';
  }
}

/** The whole org as one source read it, in the bridge payload shapes. */
export interface OrgData {
  source: 'com' | 'xml' | 'other';
  depts: RtxDept[];
  users: RtxUser[];
  /** null: this source cannot enumerate groups (the gateway must keep them as they are). */
  groups: RtxGroup[] | null;
  /** Non-fatal problems (rows skipped, unknown tables), for the log. */
  warnings: string[];
}

/** Reads the RTX org. May take seconds (20,000 users); throws RtxPortError. */
export interface DirectoryPort {
  readonly name: 'com' | 'xml';
  readOrg(signal?: AbortSignal): Promise<OrgData>;
}

/** A message an RTX user sent, as a capture path saw it. */
export type CapturedMessage = ImCaptured;

/**
 * Delivers what RTX users send. `start(sink)` begins capturing; the port calls `sink` with each
 * batch of messages in capture order and waits for the returned promise before it considers
 * them handled (a port with durable progress, like the IMWatch tailer, saves its offset only
 * then). The same message may be delivered more than once (restart, re-delivery): the bridge
 * de-duplicates.
 */
export interface CapturePort {
  readonly name: 'com' | 'imwatch';
  start(sink: (messages: CapturedMessage[]) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
  /** up = capturing; down = trying to; for rtx.status. */
  state(): 'up' | 'down';
}

export interface ImToRtx {
  sender: string;
  receivers: string[];
  text: string;
  /** The RTX `sessionid`: a group's session key posts into the group. */
  sessionKey: string;
}

export interface NotifyToRtx {
  receivers: string[];
  title: string;
  text: string;
  delayMs?: number;
}

/** Delivers into RTX. Resolves when RTX said it accepted; throws RtxPortError otherwise. */
export interface SenderPort {
  readonly name: 'sdk' | 'com';
  sendIm(m: ImToRtx, signal?: AbortSignal): Promise<void>;
  sendNotify(n: NotifyToRtx, signal?: AbortSignal): Promise<void>;
}

export type PresenceState = 'offline' | 'online' | 'away';

/** Reads presence. `accounts` = the accounts the bridge knows (from the last org read). */
export interface PresencePort {
  readonly name: 'sdk' | 'com';
  /** Every account that is not offline, with its state. Throws RtxPortError. */
  poll(accounts: readonly string[], signal?: AbortSignal): Promise<Map<string, PresenceState>>;
}

export const presenceFromCode = (n: number | null | undefined): PresenceState => (n === 1 ? 'online' : n === 2 ? 'away' : 'offline');
