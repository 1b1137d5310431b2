/**
 * kumo errors as google.rpc.Status: the gRPC code (and `grpc-status-details-bin`) on the gRPC
 * side, the HTTP status with `{"error": {code, message, status, details}}` on the REST side.
 * Field violations travel as google.rpc.BadRequest, the kumo code as google.rpc.ErrorInfo.
 */
import { ERROR_CODES, KumoError, asKumoError, grpcCodeOf, httpStatusOf } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';
import type { JsonObject } from './json.types.js';

/** Canonical gRPC code names (google/rpc/code.proto). */
export const GRPC_CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** The HTTP status Google's REST front uses for each gRPC code (google/rpc/code.proto). */
const HTTP_OF_GRPC = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusOfGrpc(code: number): number {
  return HTTP_OF_GRPC[code] ?? 500;
}

/** The gRPC code a REST status stands for, for errors that arrive over HTTP. */
export function grpcCodeOfHttp(status: number): number {
  switch (status) {
    case 400: return 3;
    case 401: return 16;
    case 403: return 7;
    case 404: return 5;
    case 409: return 10;
    case 412: return 9;
    case 413: return 8;
    case 429: return 8;
    case 499: return 1;
    case 501: return 12;
    case 503: return 14;
    case 504: return 4;
    default: return status >= 200 && status < 300 ? 0 : 2;
  }
}

export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? 'UNKNOWN';
}

export const ERROR_DOMAIN = 'kumo.dev';

/** google.rpc.Status (proto3 JSON) for a kumo error. System errors hide their internals. */
export function statusOf(error: unknown): JsonObject {
  const err = asKumoError(error);
  // Anything that was not a KumoError is a kumo bug: say so, without its stack.
  const message = error instanceof KumoError ? err.message : `kumo hit an internal error (${err.message}); the server log has the details`;
  const details: JsonObject[] = [];
  const metadata: Record<string, string> = {};
  for (const key of ['service', 'revision', 'instance', 'field'] as const) {
    const v = err.fields[key];
    if (v) metadata[key] = v;
  }
  details.push({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: err.code, domain: ERROR_DOMAIN, metadata });
  if (err.fields.violations?.length) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: err.fields.violations.map((v) => ({ field: v.field, description: v.description })),
    });
  }
  if (err.fields.retryAfterSec !== undefined) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${err.fields.retryAfterSec}s` });
  }
  return { code: grpcCodeOf(err.code), message, details };
}

/** The REST error body Google's APIs send. */
export function restErrorOf(error: unknown): { status: number; body: JsonObject } {
  const err = asKumoError(error);
  const status = statusOf(err);
  const code = status['code'] as number;
  return {
    status: httpStatusOf(err.code),
    body: { error: { code: httpStatusOf(err.code), message: status['message'] as string, status: grpcCodeName(code), details: status['details'] as JsonObject[] } },
  };
}

/** A kumo error for a stored operation error (its `code` is a kumo error code). */
export function kumoErrorOfStored(code: string, message: string): KumoError {
  const known = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => c === code);
  return new KumoError(known ?? 'INTERNAL', message);
}
