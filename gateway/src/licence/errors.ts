import { GatewayError } from '../errors/gateway-error.js';
import { ERRORS, type ErrorCode } from '../errors/registry.js';

/**
 * The error codes the licence module answers with. They are listed with the
 * rest in gateway/src/errors/registry.ts and docs/errors.md; the specs here
 * must stay equal to those entries.
 */
export const LICENCE_ERRORS = {
  GW_LICENCE_INVALID: { http: 400, close: null, meaning: 'The licence file was refused: malformed, wrongly signed, for another product, expired or not yet valid.' },
  GW_LICENCE_SEATS_FULL: { http: 409, close: null, meaning: 'Authorising more users would exceed the seats of the licence (or of the trial).' },
  GW_LICENCE_EXPIRED: { http: 409, close: null, meaning: 'The licence has expired: users already authorised keep working, but nobody new can be authorised.' },
} as const;

export type LicenceErrorCode = keyof typeof LICENCE_ERRORS;

/**
 * A refusal from the licence module, shaped as a GatewayError (code, message
 * safe to show, details, httpStatus, closeCode) so the CLI and the error
 * handlers report its code.
 */
export class LicenceRefusal extends Error {
  readonly retryAfterMs = undefined;

  constructor(
    readonly code: LicenceErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LicenceRefusal';
  }

  get httpStatus(): number {
    return LICENCE_ERRORS[this.code].http;
  }

  get closeCode(): null {
    return null;
  }
}

const registered = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

/**
 * Every licence refusal is made here: a GatewayError once the code is in the
 * registry (so every listener's error handler reports it), a LicenceRefusal
 * of the same shape before.
 */
export function licenceRefusal(code: LicenceErrorCode, message: string, details?: Record<string, unknown>): Error {
  if (registered(code)) return new GatewayError(code, message, details ? { details } : undefined);
  return new LicenceRefusal(code, message, details);
}
