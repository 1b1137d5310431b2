/**
 * A long-running operation: a deploy, a delete, later a build. Stored with its progress so the
 * CLI can watch it and the Google API port can expose it as `google.longrunning.Operation`.
 */
import type { FieldViolation } from '../shared/errors.js';

export type OperationKind = 'deploy' | 'delete';

export interface OperationStep {
  /** Stable id of the step, e.g. `revision`, `instance`, `traffic`. */
  id: string;
  /** What the user sees: `Creating revision hello-00002-xyz`. */
  title: string;
  state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  message?: string;
  updateTime: string;
}

export interface OperationError {
  /** KumoError code. */
  code: string;
  message: string;
  violations?: FieldViolation[];
}

export interface Operation {
  /** `projects/P/locations/L/operations/UUID`. */
  name: string;
  kind: OperationKind;
  /** Resource the operation acts on: `projects/P/locations/L/services/S`. */
  target: string;
  createTime: string;
  updateTime: string;
  endTime?: string;
  done: boolean;
  steps: OperationStep[];
  error?: OperationError;
  /** Kind-specific result (for deploy: the service name and ready revision). */
  result?: Record<string, unknown>;
}
