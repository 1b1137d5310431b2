/**
 * The Google API port: gRPC and REST on one port, transcoding from the protos' http annotations,
 * google.rpc.Status errors, long-running operations and auth. Each Google service plugs in here.
 */
export { createGoogleApi } from './compose.js';
export type { GoogleApiOptions } from './compose.js';
export { createGoogleApiServer } from './server.js';
export type { GoogleApiServer, GoogleApiServerOptions } from './server.js';
export type {
  AuthPolicy,
  CallContext,
  ExtraHttpRule,
  GoogleApiPlugin,
  Principal,
  RestRequest,
  RestResponse,
  RestRoute,
  UnaryHandler,
} from './plugin.types.js';
export type { Json, JsonObject } from './json.types.js';
export { createOperationsPlugin, operationToJson, OPERATIONS_SERVICE } from './operations.js';
export type { OperationsPluginOptions, OperationsSource, OperationView } from './operations.js';
export { commonProtoDir, protoDirOf } from './protos.js';
export { paginate } from './paging.js';
export { createRunApi, RUN_OPERATION_HTTP_RULES } from './run/plugin.js';
export type { RunApi, RunApiOptions } from './run/plugin.js';
