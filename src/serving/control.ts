/**
 * The serving control plane as other rooms see it: the kumo API, the Google API port (Cloud Run
 * Admin v1 and v2) and the CLI all go through this surface. Reads are synchronous (the store is
 * embedded SQLite); writes return the stored object and the operation that converges it.
 */
import type { Operation } from '../operations/operation.types.js';
import type { Revision } from './revision.types.js';
import type { Service, ServiceInput } from './service.types.js';

export interface ApplyOptions {
  /** `create` fails with ALREADY_EXISTS, `replace` with NOT_FOUND; `apply` does either. */
  mode: 'create' | 'replace' | 'apply';
  /** Region the caller named; recorded on the service as `cloud.googleapis.com/location`. */
  region?: string;
  /** Validate and default, store nothing. */
  validateOnly?: boolean;
  /** Who asked, recorded as `serving.knative.dev/creator` / `lastModifier`. */
  actor?: string;
}

export interface DeleteOptions {
  /** When set, the delete fails with ABORTED unless it matches the stored resourceVersion. */
  resourceVersion?: string;
  validateOnly?: boolean;
}

/** A Cloud Run IAM policy on a service; `roles/run.invoker` with `allUsers` makes it public. */
export interface IamPolicy {
  version?: number;
  bindings: { role: string; members: string[] }[];
  etag?: string;
}

export interface ServingControl {
  /** The one project this kumo serves, and its default region. */
  readonly project: string;
  readonly region: string;
  applyService(input: ServiceInput, options: ApplyOptions): { service: Service; operation: Operation | undefined };
  getService(name: string): Service;
  listServices(): Service[];
  deleteService(name: string, options?: DeleteOptions): { service: Service; operation: Operation | undefined };
  getRevision(name: string): Revision;
  /** Revisions of one service (newest first), or of all services. */
  listRevisions(service?: string): Revision[];
  deleteRevision(name: string): Revision;
  getOperation(name: string): Operation;
  listOperations(): Operation[];
  /** Resolves when the operation is done or `timeoutMs` passed, with its latest state. */
  waitOperation(name: string, timeoutMs: number): Promise<Operation>;
  deleteOperation(name: string): void;
  getIamPolicy(service: string): IamPolicy;
  /** Replaces the policy; fails with ABORTED when `policy.etag` is set and stale. */
  setIamPolicy(service: string, policy: IamPolicy): IamPolicy;
}
