import { CLOSE_CODES, ERRORS } from '../../gateway/src/errors/registry.js';

/**
 * Codes the library raises on its own, for conditions the server never reports
 * (it cannot answer when it cannot be reached). Server errors keep their GW_* code.
 */
export const CLIENT_ERRORS = {
  CLIENT_BAD_URL: 'The server address is not a wss://, ws://, tls:// or tcp:// URL.',
  CLIENT_UNREACHABLE: 'Cannot connect to the server.',
  CLIENT_TLS_UNTRUSTED: 'The server certificate is not trusted (give the private CA, or allow insecure connections).',
  CLIENT_TIMEOUT: 'The server did not answer in time.',
  CLIENT_DISCONNECTED: 'The connection closed before the server answered.',
  CLIENT_HEARTBEAT_TIMEOUT: 'Nothing arrived from the server within the heartbeat timeout.',
  CLIENT_OFFLINE: 'Not connected to the server.',
  CLIENT_STOPPED: 'The client is not running; call connect() first.',
  CLIENT_CLOSED: 'The client was closed.',
  CLIENT_ALREADY_RUNNING: 'The client is already connected or connecting.',
  CLIENT_NO_CREDENTIALS: 'No session token and no account credentials to log in with.',
  CLIENT_PROTOCOL: 'The server sent something the protocol does not allow.',
  CLIENT_STORE_FAILED: 'The local state could not be read or written.',
} as const;

export type LocalErrorCode = keyof typeof CLIENT_ERRORS;

/** A failure with a stable code: a GW_* code from the server, or a CLIENT_* code raised locally. */
export class ClientError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message?: string, opts?: { retryAfterMs?: number; cause?: unknown }) {
    super(message ?? defaultMessage(code), opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ClientError';
    this.code = code;
    this.retryAfterMs = opts?.retryAfterMs;
  }
}

export function isClientError(e: unknown): e is ClientError {
  return e instanceof ClientError;
}

function defaultMessage(code: string): string {
  if (code in CLIENT_ERRORS) return CLIENT_ERRORS[code as LocalErrorCode];
  if (code in ERRORS) return ERRORS[code as keyof typeof ERRORS].meaning;
  return code;
}

/** Turns anything thrown into a ClientError, keeping its code when it already has one. */
export function toClientError(e: unknown, fallbackCode: string = 'CLIENT_PROTOCOL'): ClientError {
  if (e instanceof ClientError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ClientError(fallbackCode, message, { cause: e });
}

const ERROR_BY_CLOSE_CODE: ReadonlyMap<number, string> = new Map(
  Object.entries(CLOSE_CODES).map(([code, close]) => [close, code]),
);

/** The GW_* code a WebSocket close code stands for, or null for a close that names no error. */
export function errorCodeForClose(closeCode: number): string | null {
  // 1009 is the WebSocket library refusing an oversized message on our side.
  if (closeCode === 1009) return 'GW_FRAME_TOO_LARGE';
  return ERROR_BY_CLOSE_CODE.get(closeCode) ?? null;
}

/**
 * Close codes after which reconnecting would be wrong: the user or device was
 * refused or signed out by an administrator, or another connection took over.
 * GW_TOKEN_INVALID is here too; the client may still try one fresh login.
 */
export const NO_RECONNECT_CODES: ReadonlySet<string> = new Set([
  'GW_USER_BLOCKED',
  'GW_USER_DISABLED',
  'GW_USER_UNAUTHORISED',
  'GW_FORCED_OFFLINE',
  'GW_DEVICE_WIPED',
  'GW_TOKEN_INVALID',
  'GW_REPLACED',
]);

/** Handshake failures that another attempt cannot fix without the user doing something. */
export const FATAL_HANDSHAKE_CODES: ReadonlySet<string> = new Set([
  ...NO_RECONNECT_CODES,
  'GW_AUTH_FAILED',
  'GW_ACCOUNT_LOCKED',
  'GW_VERSION_UNSUPPORTED',
  'GW_BAD_REQUEST',
  'GW_FORBIDDEN',
  'CLIENT_BAD_URL',
  'CLIENT_NO_CREDENTIALS',
]);

/** Request failures worth retrying on the same connection after a pause. */
export const TRANSIENT_REQUEST_CODES: ReadonlySet<string> = new Set([
  'GW_RATE_LIMITED',
  'GW_STORAGE_BUSY',
  'CLIENT_TIMEOUT',
]);
