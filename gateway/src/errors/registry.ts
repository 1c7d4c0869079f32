/**
 * Every stable error code the gateway can answer with: its meaning, HTTP status,
 * and the WebSocket close code used when the error ends a connection.
 * docs/errors.md documents each one; test/unit/errors-doc.test.ts keeps the two in step.
 * Data only: the client library imports this file.
 */
export interface ErrorSpec {
  readonly http: number;
  /** WebSocket close code when this error closes a connection (4000–4999), or null if it never does. */
  readonly close: number | null;
  readonly meaning: string;
}

export const ERRORS = {
  // protocol and framing
  GW_BAD_FRAME: { http: 400, close: 4400, meaning: 'The frame is not valid JSON, not UTF-8, or not shaped as the protocol says.' },
  GW_UNKNOWN_FRAME: { http: 400, close: null, meaning: 'The frame type is not part of the protocol version in use.' },
  GW_BAD_REQUEST: { http: 400, close: null, meaning: 'A field is missing, has the wrong type, or is out of range.' },
  GW_VERSION_UNSUPPORTED: { http: 400, close: 4426, meaning: 'The client speaks a protocol version the server does not.' },
  GW_HANDSHAKE_REQUIRED: { http: 400, close: 4401, meaning: 'The first frame must be hello; then login or resume before anything else.' },
  GW_HANDSHAKE_TIMEOUT: { http: 408, close: 4408, meaning: 'The connection did not complete hello and login in time.' },
  GW_FRAME_TOO_LARGE: { http: 413, close: 4413, meaning: 'A frame exceeded the maximum frame size.' },
  GW_RATE_LIMITED: { http: 429, close: 4429, meaning: 'Too many requests; slow down and retry after the given delay.' },
  GW_SLOW_CONSUMER: { http: 503, close: 4503, meaning: 'The client did not read fast enough and its send queue overflowed.' },
  GW_HEARTBEAT_TIMEOUT: { http: 408, close: 4409, meaning: 'Nothing arrived from the client within the heartbeat timeout.' },
  GW_SERVER_SHUTDOWN: { http: 503, close: 1001, meaning: 'The server is shutting down; reconnect and resume shortly.' },
  // authentication and authorisation
  GW_AUTH_FAILED: { http: 401, close: null, meaning: 'Wrong account or password.' },
  GW_DIRECTORY_UNAVAILABLE: { http: 503, close: null, meaning: 'The company directory (LDAP / AD) could not be reached to check the password; try again shortly.' },
  GW_ACCOUNT_LOCKED: { http: 423, close: null, meaning: 'Too many failed logins; the account is locked for a while.' },
  GW_USER_BLOCKED: { http: 403, close: 4403, meaning: 'The user is on the blocked list and may not log in on any client.' },
  GW_USER_UNAUTHORISED: { http: 403, close: 4404, meaning: 'The user is not on the authorised list (and auto-authorise is off or no seat is free).' },
  GW_USER_DISABLED: { http: 403, close: 4405, meaning: 'The user account is disabled.' },
  GW_TOKEN_INVALID: { http: 401, close: 4410, meaning: 'The session token is unknown, expired or revoked; log in again.' },
  GW_FORCED_OFFLINE: { http: 401, close: 4411, meaning: 'An administrator signed this device out.' },
  GW_DEVICE_WIPED: { http: 401, close: 4412, meaning: 'An administrator ordered this device to erase its local data.' },
  GW_REPLACED: { http: 409, close: 4414, meaning: 'The same device connected again; this older connection was closed.' },
  GW_FORBIDDEN: { http: 403, close: null, meaning: 'The caller may not do this.' },
  GW_CSRF: { http: 403, close: null, meaning: "A state-changing console request lacked its session's CSRF token, or came from another site." },
  // directory
  GW_NOT_FOUND: { http: 404, close: null, meaning: 'The user, department, group, message or file does not exist.' },
  GW_CONFLICT: { http: 409, close: null, meaning: 'The change conflicts with existing data (duplicate account, name taken, stale version).' },
  GW_DEPT_NOT_EMPTY: { http: 409, close: null, meaning: 'The department still has members or sub-departments.' },
  GW_DEPT_CYCLE: { http: 409, close: null, meaning: 'A department cannot be moved under itself or one of its descendants.' },
  GW_GROUP_LIMIT: { http: 409, close: null, meaning: 'The group would exceed its member limit.' },
  GW_NOT_MEMBER: { http: 403, close: null, meaning: 'The sender is not a member of the group.' },
  // messaging
  GW_RECALL_EXPIRED: { http: 409, close: null, meaning: 'The recall window has passed.' },
  GW_RECIPIENT_UNAVAILABLE: { http: 409, close: null, meaning: 'The recipient cannot receive messages (the account is disabled).' },
  // files
  GW_FILE_TOO_LARGE: { http: 413, close: null, meaning: 'The file is larger than the limit set for this kind of transfer.' },
  // licence
  GW_LICENCE_INVALID: { http: 400, close: null, meaning: 'The licence file was refused: malformed, wrongly signed, for another product, expired or not yet valid.' },
  GW_LICENCE_SEATS_FULL: { http: 409, close: null, meaning: 'Authorising more users would exceed the seats of the licence (or of the trial).' },
  GW_LICENCE_EXPIRED: { http: 409, close: null, meaning: 'The licence has expired: users already authorised keep working, but nobody new can be authorised.' },
  // RTX plugin channel (port 7014; docs/protocol/plugin-v1.md)
  GW_PLUGIN_CODE_INVALID: { http: 401, close: 4471, meaning: 'The RTX adapter presented a wrong connection code.' },
  GW_PLUGIN_CODE_CHANGED: { http: 401, close: 4472, meaning: 'The connection code was regenerated; the adapter must be given the new one.' },
  GW_PLUGIN_REPLACED: { http: 409, close: 4473, meaning: 'The same RTX adapter connected again; this older connection was closed.' },
  GW_PLUGIN_BUSY: { http: 409, close: 4474, meaning: 'Another RTX adapter is connected; only one may be connected at a time.' },
  GW_PLUGIN_SEQUENCE: { http: 400, close: 4475, meaning: 'A plugin data frame skipped a sequence number, an ack named a frame never sent, or the window was exceeded.' },
  // RTX bridge (docs/admin-api-rtx.md)
  GW_RTX_OWNED: { http: 409, close: null, meaning: 'The field belongs to RTX for this RTX-origin entry; change it in RTX (the next sync would overwrite it).' },
  GW_RTX_NOT_CONNECTED: { http: 409, close: null, meaning: 'No RTX adapter is connected, so RTX cannot be asked for anything now.' },
  // directory sync (docs/sync.md)
  GW_SYNC_RUNNING: { http: 409, close: null, meaning: 'A run of this directory source is already reading, planning or applying; details.runId names it.' },
  GW_SYNC_FILE_INVALID: { http: 422, close: null, meaning: 'The spreadsheet cannot be a sync source\'s file (not a member template, or rows with problems); details list them; the previous file stays.' },
  // backup (docs/backup.md)
  GW_BACKUP_INVALID: { http: 400, close: null, meaning: 'The file is not a Huitong backup archive, or it is corrupt or truncated; nothing was changed.' },
  GW_BACKUP_TOO_NEW: { http: 409, close: null, meaning: 'The backup was made by a newer Huitong (newer archive format or database schema); nothing was changed.' },
  GW_BACKUP_SERVER_RUNNING: { http: 409, close: null, meaning: 'Importing a backup replaces the database, so it needs the server stopped.' },
  GW_BACKUP_BUSY: { http: 409, close: null, meaning: 'Another backup job or import is running on this data directory.' },
  GW_BACKUP_FAILED: { http: 507, close: null, meaning: 'The backup could not be written (disk full or folder not writable); nothing was left behind.' },
  GW_BACKUP_ABORTED: { http: 503, close: null, meaning: 'The backup job was cancelled because the server is stopping; nothing was left behind.' },
  // storage and internals
  GW_STORAGE_BUSY: { http: 503, close: null, meaning: 'The database is busy; retry shortly.' },
  GW_INTERNAL: { http: 500, close: null, meaning: 'An unexpected failure; the log has details under the given request id.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Close codes by error code, for the protocol document and the client library. */
export const CLOSE_CODES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    Object.entries(ERRORS)
      .filter(([, s]) => s.close !== null)
      .map(([k, s]) => [k, s.close as number]),
  ),
);

/** Process exit codes (sysexits.h where one fits); systemd's RestartPreventExitStatus uses them. */
export const EXIT_CODES = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  PORT_IN_USE: 69,
  DATA_DIR_NOT_WRITABLE: 73,
  DATABASE_TOO_NEW: 76,
  BAD_CONFIG: 78,
  DATA_DIR_IN_USE: 74,
  SERVER_UNREACHABLE: 75,
} as const;
