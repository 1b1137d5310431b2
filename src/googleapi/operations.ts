/**
 * google.longrunning.Operations (Get, List, Wait, Delete) over kumo's stored operations. Plugin-
 * neutral: each Google service says what typed metadata/response its operations carry (`present`)
 * and which REST paths its clients poll (`httpRules`, e.g. Cloud Run's `/v2/{name=projects/*\/
 * locations/*\/operations/*}`).
 */
import type { Operation } from '../operations/operation.types.js';
import { KumoError, invalidArgument } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';
import type { JsonObject } from './json.types.js';
import { paginate } from './paging.js';
import type { AuthPolicy, ExtraHttpRule, GoogleApiPlugin } from './plugin.types.js';
import { commonProtoDir } from './protos.js';
import { statusOf } from './status.js';
import { parseDuration } from './wkt.js';

/** What ServingControl (and later the build room) offer about their operations. */
export interface OperationsSource {
  getOperation(name: string): Operation;
  listOperations(): Operation[];
  waitOperation(name: string, timeoutMs: number): Promise<Operation>;
  deleteOperation(name: string): void;
}

/** An operation's typed payloads as proto3 JSON `Any` values (objects with `@type`). */
export interface OperationView {
  metadata?: JsonObject;
  response?: JsonObject;
}

export interface OperationsPluginOptions {
  source: OperationsSource;
  present(op: Operation): OperationView;
  httpRules?: readonly ExtraHttpRule[];
  auth?: AuthPolicy;
  /** Longest a WaitOperation may block (default 60 s). */
  maxWaitMs?: number;
}

export const OPERATIONS_SERVICE = 'google.longrunning.Operations';

const KNOWN_CODES = new Set<string>(['INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'OUT_OF_RANGE', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_FOUND', 'ALREADY_EXISTS', 'ABORTED', 'PAYLOAD_TOO_LARGE', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED', 'BAD_GATEWAY']);

/** google.longrunning.Operation (proto3 JSON) for a stored operation. */
export function operationToJson(op: Operation, view: OperationView): JsonObject {
  const out: JsonObject = { name: op.name, done: op.done };
  if (view.metadata) out['metadata'] = view.metadata;
  if (op.done && op.error) {
    const code = (KNOWN_CODES.has(op.error.code) ? op.error.code : 'INTERNAL') as ErrorCode;
    // No `details` here: the clients decode an Operation with their own protos, which lack
    // google.rpc.ErrorInfo/BadRequest, and a REST client fails on an Any it cannot resolve.
    // The message already lists every violation.
    const status = statusOf(new KumoError(code, op.error.message, op.error.violations ? { violations: op.error.violations } : {}));
    out['error'] = { code: status['code'] ?? 2, message: status['message'] ?? op.error.message };
  } else if (op.done && view.response) {
    out['response'] = view.response;
  }
  return out;
}

function requireName(request: JsonObject): string {
  const name = request['name'];
  if (typeof name !== 'string' || name === '') throw invalidArgument([{ field: 'name', description: 'is required: the operation name, e.g. projects/P/locations/L/operations/ID' }]);
  return name;
}

/** Does `op` live under the collection `parent` (`projects/P/locations/L`, `-` for any location)? */
function under(parent: string, opName: string): boolean {
  if (parent === '' || parent === 'operations') return true;
  const parts = parent.split('/');
  const opParts = opName.split('/');
  if (opParts.length !== parts.length + 2) return false;
  return parts.every((p, i) => p === '-' || p === opParts[i]);
}

export function createOperationsPlugin(o: OperationsPluginOptions): GoogleApiPlugin {
  const maxWaitMs = o.maxWaitMs ?? 60_000;
  const toJson = (op: Operation): JsonObject => operationToJson(op, o.present(op));
  return {
    name: 'operations',
    protos: { includeDirs: [commonProtoDir()], files: ['google/longrunning/operations.proto'] },
    services: [OPERATIONS_SERVICE],
    httpRules: o.httpRules ?? [],
    auth: o.auth ?? 'token',
    handlers: {
      [`${OPERATIONS_SERVICE}.GetOperation`]: (req) => toJson(o.source.getOperation(requireName(req))),
      [`${OPERATIONS_SERVICE}.ListOperations`]: (req) => {
        const parent = typeof req['name'] === 'string' ? req['name'] : '';
        if (typeof req['filter'] === 'string' && req['filter'] !== '') {
          throw invalidArgument([{ field: 'filter', description: 'kumo does not support operation filters yet; leave it empty' }]);
        }
        const all = o.source.listOperations().filter((op) => under(parent, op.name));
        const page = paginate(all, req['pageSize'] as number | undefined, req['pageToken'] as string | undefined);
        return { operations: page.items.map(toJson), nextPageToken: page.nextPageToken };
      },
      [`${OPERATIONS_SERVICE}.WaitOperation`]: async (req) => {
        const name = requireName(req);
        let timeoutMs = maxWaitMs;
        if (typeof req['timeout'] === 'string') {
          const parsed = parseDuration(req['timeout']);
          if (!parsed.ok) throw invalidArgument([{ field: 'timeout', description: parsed.error }]);
          timeoutMs = Math.min(maxWaitMs, Math.max(0, Number(parsed.value.seconds) * 1000 + Math.floor(parsed.value.nanos / 1e6)));
        }
        return toJson(await o.source.waitOperation(name, timeoutMs));
      },
      [`${OPERATIONS_SERVICE}.DeleteOperation`]: (req) => {
        o.source.deleteOperation(requireName(req));
        return {};
      },
    },
  };
}
