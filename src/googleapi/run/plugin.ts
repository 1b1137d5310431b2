/**
 * Cloud Run Admin API on the Google API port: v2 (`google.cloud.run.v2.Services`, `Revisions`,
 * gRPC and REST through the generic transcoder) and v1 (Knative-shaped REST, hand-written routes
 * since no proto ships for it). Every call deploys or reveals code, so every call needs a token.
 */
import type { Operation } from '../../operations/operation.types.js';
import type { ServingControl } from '../../serving/control.js';
import type { OperationView } from '../operations.js';
import type { ExtraHttpRule, GoogleApiPlugin } from '../plugin.types.js';
import { protoDirOf } from '../protos.js';
import { v1Routes } from './v1-routes.js';
import { Snapshots, runOperationPresenter, v2Handlers } from './v2-handlers.js';

export interface RunApiOptions {
  control: ServingControl;
}

export interface RunApi {
  plugin: GoogleApiPlugin;
  /** Give this to createOperationsPlugin: Cloud Run operations carry a v2 Service. */
  presentOperation(op: Operation): OperationView;
  /** The REST paths Cloud Run's clients poll operations on (from run_v2.yaml). */
  operationHttpRules: ExtraHttpRule[];
}

export const RUN_OPERATION_HTTP_RULES: ExtraHttpRule[] = [
  { selector: 'google.longrunning.Operations.GetOperation', get: '/v2/{name=projects/*/locations/*/operations/*}' },
  { selector: 'google.longrunning.Operations.ListOperations', get: '/v2/{name=projects/*/locations/*}/operations' },
  { selector: 'google.longrunning.Operations.DeleteOperation', delete: '/v2/{name=projects/*/locations/*/operations/*}' },
  { selector: 'google.longrunning.Operations.WaitOperation', post: '/v2/{name=projects/*/locations/*/operations/*}:wait', body: '*' },
];

export function createRunApi(o: RunApiOptions): RunApi {
  const snapshots = new Snapshots();
  return {
    plugin: {
      name: 'run',
      protos: {
        includeDirs: [protoDirOf('@google-cloud/run')],
        files: ['google/cloud/run/v2/service.proto', 'google/cloud/run/v2/revision.proto'],
      },
      services: ['google.cloud.run.v2.Services', 'google.cloud.run.v2.Revisions'],
      handlers: v2Handlers(o.control, snapshots),
      restRoutes: v1Routes(o.control),
      auth: 'token',
    },
    presentOperation: runOperationPresenter(o.control, snapshots),
    operationHttpRules: RUN_OPERATION_HTTP_RULES,
  };
}
