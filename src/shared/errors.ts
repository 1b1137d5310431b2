/**
 * Coded errors, mapped to transport status once (see `httpStatusOf` / `grpcCodeOf`).
 * Storage and runtime code throw KumoError; only the edges build HTTP or gRPC responses.
 */

/** Every code kumo can raise, with the HTTP status and gRPC code it maps to. */
export const ERROR_CODES = {
  // user errors: the request was wrong
  INVALID_ARGUMENT: { http: 400, grpc: 3, user: true },
  FAILED_PRECONDITION: { http: 400, grpc: 9, user: true },
  OUT_OF_RANGE: { http: 400, grpc: 11, user: true },
  UNAUTHENTICATED: { http: 401, grpc: 16, user: true },
  PERMISSION_DENIED: { http: 403, grpc: 7, user: true },
  NOT_FOUND: { http: 404, grpc: 5, user: true },
  ALREADY_EXISTS: { http: 409, grpc: 6, user: true },
  ABORTED: { http: 409, grpc: 10, user: true },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 8, user: true },
  RESOURCE_EXHAUSTED: { http: 429, grpc: 8, user: true },
  UNIMPLEMENTED: { http: 501, grpc: 12, user: true },
  // system errors: kumo or the app failed
  INTERNAL: { http: 500, grpc: 13, user: false },
  UNAVAILABLE: { http: 503, grpc: 14, user: false },
  DEADLINE_EXCEEDED: { http: 504, grpc: 4, user: false },
  BAD_GATEWAY: { http: 502, grpc: 14, user: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Fields that explain an error; every one is optional. */
export interface ErrorFields {
  service?: string;
  revision?: string;
  instance?: string;
  field?: string;
  /** Seconds a client should wait before retrying (429, 503). */
  retryAfterSec?: number;
  /** Every problem found, for validation errors (one per field path). */
  violations?: FieldViolation[];
}

export interface FieldViolation {
  /** Dotted path of the offending field, e.g. `spec.template.spec.containerConcurrency`. */
  field: string;
  /** What is wrong and how to fix it. */
  description: string;
}

export class KumoError extends Error {
  readonly code: ErrorCode;
  readonly fields: ErrorFields;

  constructor(code: ErrorCode, message: string, fields: ErrorFields = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KumoError';
    this.code = code;
    this.fields = fields;
  }

  get isUserError(): boolean {
    return ERROR_CODES[this.code].user;
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

export function grpcCodeOf(code: ErrorCode): number {
  return ERROR_CODES[code].grpc;
}

/** Turn anything thrown into a KumoError, keeping the original as `cause`. */
export function asKumoError(err: unknown): KumoError {
  if (err instanceof KumoError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KumoError('INTERNAL', message, {}, { cause: err });
}

/** A validation failure listing every violation; message joins them for humans. */
export function invalidArgument(violations: FieldViolation[], fields: ErrorFields = {}): KumoError {
  const text = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  const first = violations[0];
  return new KumoError('INVALID_ARGUMENT', text, {
    ...fields,
    violations,
    ...(first ? { field: first.field } : {}),
  });
}
