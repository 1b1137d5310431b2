/**
 * The registry's error codes (OCI Distribution Spec §error-codes) as KumoErrors, so the rest of kumo
 * sees ordinary coded errors while the /v2/ edge can answer with the spec's JSON envelope.
 */
import { KumoError, httpStatusOf } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';

/** Each OCI code with its usual HTTP status and the KumoError code it corresponds to. */
export const OCI_ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, kumo: 'NOT_FOUND' },
  BLOB_UPLOAD_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, kumo: 'NOT_FOUND' },
  DIGEST_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, kumo: 'FAILED_PRECONDITION' },
  MANIFEST_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
  MANIFEST_UNKNOWN: { status: 404, kumo: 'NOT_FOUND' },
  NAME_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
  NAME_UNKNOWN: { status: 404, kumo: 'NOT_FOUND' },
  SIZE_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
  UNAUTHORIZED: { status: 401, kumo: 'UNAUTHENTICATED' },
  DENIED: { status: 403, kumo: 'PERMISSION_DENIED' },
  UNSUPPORTED: { status: 405, kumo: 'UNIMPLEMENTED' },
  TOOMANYREQUESTS: { status: 429, kumo: 'RESOURCE_EXHAUSTED' },
  // Not in the OCI list; distribution's code for a bad `n`.
  PAGINATION_NUMBER_INVALID: { status: 400, kumo: 'INVALID_ARGUMENT' },
} as const satisfies Record<string, { status: number; kumo: ErrorCode }>;

export type OciErrorCode = keyof typeof OCI_ERROR_CODES;

export class RegistryError extends KumoError {
  readonly ociCode: OciErrorCode;
  /** HTTP status at the /v2/ edge (defaults to the code's usual status). */
  readonly status: number;
  /** The spec's optional `detail` member. */
  readonly detail: unknown;

  constructor(ociCode: OciErrorCode, message: string, o: { status?: number; detail?: unknown; field?: string } = {}) {
    super(OCI_ERROR_CODES[ociCode].kumo, message, o.field ? { field: o.field } : {});
    this.name = 'RegistryError';
    this.ociCode = ociCode;
    this.status = o.status ?? OCI_ERROR_CODES[ociCode].status;
    this.detail = o.detail;
  }
}

/** What the /v2/ edge sends for any error: status, OCI code, message, detail. */
export interface OciErrorReply {
  status: number;
  code: string;
  message: string;
  detail?: unknown;
}

const KUMO_TO_OCI: Partial<Record<ErrorCode, OciErrorCode>> = {
  UNAUTHENTICATED: 'UNAUTHORIZED',
  PERMISSION_DENIED: 'UNAUTHORIZED',
  NOT_FOUND: 'NAME_UNKNOWN',
  RESOURCE_EXHAUSTED: 'TOOMANYREQUESTS',
  UNIMPLEMENTED: 'UNSUPPORTED',
};

/** Map anything thrown to the reply the edge sends; internal failures never leak a stack. */
export function ociErrorOf(err: unknown): OciErrorReply {
  if (err instanceof RegistryError) {
    return { status: err.status, code: err.ociCode, message: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) };
  }
  if (err instanceof KumoError) {
    const oci = KUMO_TO_OCI[err.code];
    // A token that verifies but does not fit is still a 401 for docker: it makes the client log in again.
    if (oci) return { status: OCI_ERROR_CODES[oci].status, code: oci, message: err.message };
    if (err.isUserError) return { status: 400, code: 'UNSUPPORTED', message: err.message };
    // A system error kumo explained (a full disk, say): say it; only unexplained ones stay opaque.
    if (err.code !== 'INTERNAL') return { status: httpStatusOf(err.code), code: 'UNKNOWN', message: err.message };
  }
  return { status: 500, code: 'UNKNOWN', message: 'internal registry error; see the kumo server log' };
}
