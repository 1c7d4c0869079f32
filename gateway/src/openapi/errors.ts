/**
 * The open API's errcodes (wire spec §7; docs/open-api.md "Errors"). They
 * travel in the compatible `{errcode, errmsg}` envelope with HTTP 200, never
 * as GW_* codes.
 */
export const ERR = {
  OK: 0,
  INTERNAL: -1,
  FALSE: 2,
  NO_PERMISSION: 3,
  ILLEGAL_ACCESS: 4,
  INVALID_REQUEST: 5,
  MISSING_TOKEN: 100000,
  TOKEN_NOT_FOUND: 100001,
  TOKEN_EXPIRED: 100002,
  BAD_REQUEST: 100003,
  BAD_JSON: 100004,
  BAD_APP_ID: 100005,
  DECRYPT_FAILED: 100006,
  MISSING_BUIN: 100008,
  BAD_BUIN: 100009,
  MISSING_APP_ID: 100010,
  MISSING_ENCRYPT: 100011,
  BUIN_NOT_INT: 100012,
  APP_ID_NOT_STRING: 100013,
  ENCRYPT_NOT_STRING: 100014,
  TO_USER_TOO_LONG: 200001,
  BAD_TO_USER: 200007,
  BAD_MULTIPART: 200008,
  BAD_FILE_TYPE: 200009,
  MEDIA_NOT_FOUND: 200010,
  USER_NOT_EXIST: 300001,
  AUTH_FAILED: 300002,
} as const;

/** A refusal with a compatible errcode; endpoints throw it, the dispatcher answers it. */
export class OpenApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(errmsg);
  }
}

export const fail = (errcode: number, errmsg: string): OpenApiError => new OpenApiError(errcode, errmsg);
