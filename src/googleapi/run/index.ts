/** Cloud Run Admin API (v1 Knative REST, v2 gRPC/REST) as a Google API port plugin. */
export { createRunApi, RUN_OPERATION_HTTP_RULES } from './plugin.js';
export type { RunApi, RunApiOptions } from './plugin.js';
export { regionFromHost } from './v1-routes.js';
