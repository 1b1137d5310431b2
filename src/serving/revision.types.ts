/**
 * A Revision: an immutable snapshot of a service's template, Knative-shaped. Its status changes
 * (Ready, Active); its spec never does.
 */
import type { Condition, ObjectMeta, RevisionSpec } from './service.types.js';

export interface RevisionStatus {
  observedGeneration: number;
  conditions: Condition[];
  /** The pinned image digest (`repo@sha256:…`) for image deploys. */
  imageDigest?: string;
  /** The instance count the revision is scaled to right now. */
  actualReplicas?: number;
  desiredReplicas?: number;
  logUrl?: string;
  containerStatuses?: { name: string; imageDigest?: string }[];
}

export interface Revision {
  apiVersion: 'serving.knative.dev/v1';
  kind: 'Revision';
  metadata: ObjectMeta;
  spec: RevisionSpec;
  status: RevisionStatus;
}
