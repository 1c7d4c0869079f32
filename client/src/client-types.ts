import type {
  ClientType,
  DeptView,
  DeviceCommand,
  GroupView,
  MessageView,
  PushPayload,
  ServerFrame,
  UserId,
  UserView,
} from '../../gateway/src/protocol/client-v1.js';
import type { ClientError } from './errors.js';
import type { SendAck } from './outbox.js';
import type { ClientStore } from './store.js';
import type { TransportFactory, TransportOptions } from './transport.js';

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'stopped';

export interface ClosedEvent {
  /** The GW_* or CLIENT_* code that ended the connection; null when the application closed it or none was given. */
  code: string | null;
  reason: string;
  willReconnect: boolean;
}

export interface HuitongClientEvents {
  state: ConnectionState;
  /** Each inbox message exactly once, in strictly increasing seq order. */
  message: MessageView;
  receipt: PushPayload[ServerFrame.Receipt];
  presence: PushPayload[ServerFrame.Presence];
  dirChanged: PushPayload[ServerFrame.DirChanged];
  /** Apps changed: call apps() again. */
  appsChanged: PushPayload[ServerFrame.AppsChanged];
  /** The workbench, a portal template or the apps changed: call workbench() again. */
  workbenchChanged: PushPayload[ServerFrame.WorkbenchChanged];
  /** An administrator's command; the client acknowledges it (after erasing local data for `wipe`). */
  command: DeviceCommand;
  closed: ClosedEvent;
  /** An outbox entry was acknowledged, including entries restored from the store. */
  sent: { cmid: string; ack: SendAck };
  /** The server refused an outbox entry for good. */
  sendFailed: { cmid: string; error: ClientError };
  /** Something went wrong that the client works around (a failed store write, a failed catch-up, a reconnect attempt). */
  warning: ClientError;
}

export interface HuitongClientOptions extends TransportOptions {
  /** `wss://host:7443/ws`, `tls://host:7006`; `ws://` and `tcp://` for tests. */
  url: string;
  /** The device id defaults to the one in the store, else a new one that is then stored. */
  device?: { id?: string; type?: ClientType; name?: string; pushToken?: string };
  /** Used to log in when there is no session token, and once more when the token is refused. */
  credentials?: { account: string; password: string };
  /** A session token to resume; defaults to the one in the store. */
  token?: string;
  store?: ClientStore;
  /** Highest inbox seq the application already has; defaults to the store's (0: everything). */
  lastSeq?: number;
  /** Set false for send-only clients: no catch-up, and message pushes are ignored. Default true. */
  receive?: boolean;
  /** Reconnect after a connection loss. Default true. */
  reconnect?: boolean;
  minDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Sent in `hello`. */
  clientName?: string;
  /** Replaces openTransport, for tests and custom transports. */
  transportFactory?: TransportFactory;
}

export interface SendOptions {
  mentions?: UserId[];
  /** Client message id; generated when absent. Re-using one makes the send idempotent. */
  cmid?: string;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export interface DirectorySnapshot {
  version: number;
  depts: DeptView[];
  users: UserView[];
  groups: GroupView[];
}
