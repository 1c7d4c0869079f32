import { ERRORS, type ErrorCode } from './registry.js';

/**
 * A known failure with a stable code and a message safe to show to the caller.
 * Anything thrown that is not a GatewayError is reported as GW_INTERNAL with a
 * request id, and its details go only to the log.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, opts?: { retryAfterMs?: number; details?: Record<string, unknown> }) {
    super(message ?? ERRORS[code].meaning);
    this.name = 'GatewayError';
    this.code = code;
    this.retryAfterMs = opts?.retryAfterMs;
    this.details = opts?.details;
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }

  get closeCode(): number | null {
    return ERRORS[this.code].close;
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
