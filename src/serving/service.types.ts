/**
 * The Service, Knative-shaped (`serving.knative.dev/v1`), as kumo stores it. The Cloud Run
 * Admin API v1 speaks this shape directly; v2 and the CLI map to and from it at their edges.
 */

export const API_VERSION = 'serving.knative.dev/v1';

export interface ObjectMeta {
  name: string;
  /** The project id (Cloud Run's v1 uses the project as the Knative namespace). */
  namespace: string;
  uid: string;
  generation: number;
  /** Changes on every stored change; the optimistic-concurrency token (also the v2 etag). */
  resourceVersion: string;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface ContainerPort {
  /** `http1` (default) or `h2c`. */
  name?: string;
  containerPort: number;
}

export interface Container {
  name?: string;
  /** An image reference. A source deploy leaves this empty and sets `kumo.dev/source` on the revision template. */
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: { limits?: { cpu?: string; memory?: string } };
  workingDir?: string;
}

export interface RevisionSpec {
  containerConcurrency?: number;
  timeoutSeconds?: number;
  serviceAccountName?: string;
  containers: Container[];
}

export interface RevisionTemplate {
  metadata: {
    /** Optional explicit revision name (must start with `SERVICE-`). */
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: RevisionSpec;
}

export interface TrafficTarget {
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  /** Status only: the URL that reaches this target (tagged targets). */
  url?: string;
  configurationName?: string;
}

export type ConditionType =
  | 'Ready'
  | 'ConfigurationsReady'
  | 'RoutesReady'
  | 'ContainerHealthy'
  | 'ResourcesAvailable'
  | 'Active';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime: string;
  severity?: 'Error' | 'Warning' | 'Info';
}

export interface ServiceSpec {
  template: RevisionTemplate;
  traffic: TrafficTarget[];
}

export interface ServiceStatus {
  observedGeneration: number;
  conditions: Condition[];
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  url?: string;
  address?: { url: string };
  traffic: TrafficTarget[];
}

export interface Service {
  apiVersion: typeof API_VERSION;
  kind: 'Service';
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status: ServiceStatus;
}

/** What a client hands kumo to create or replace a service: metadata it may set, and spec. */
export interface ServiceInput {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** When set on replace, the write fails with ABORTED unless it matches the stored one. */
    resourceVersion?: string;
  };
  spec: {
    template: RevisionTemplate;
    traffic?: TrafficTarget[];
  };
}

/** Annotation and label keys kumo reads or writes. */
export const KEYS = {
  // Knative
  serviceLabel: 'serving.knative.dev/service',
  configurationLabel: 'serving.knative.dev/configuration',
  configurationGenerationLabel: 'serving.knative.dev/configurationGeneration',
  revisionLabel: 'serving.knative.dev/revision',
  routeLabel: 'serving.knative.dev/route',
  creator: 'serving.knative.dev/creator',
  lastModifier: 'serving.knative.dev/lastModifier',
  minScale: 'autoscaling.knative.dev/minScale',
  maxScale: 'autoscaling.knative.dev/maxScale',
  minScaleKebab: 'autoscaling.knative.dev/min-scale',
  maxScaleKebab: 'autoscaling.knative.dev/max-scale',
  initialScale: 'autoscaling.knative.dev/initial-scale',
  target: 'autoscaling.knative.dev/target',
  targetUtilization: 'autoscaling.knative.dev/target-utilization-percentage',
  window: 'autoscaling.knative.dev/window',
  panicWindowPercentage: 'autoscaling.knative.dev/panic-window-percentage',
  panicThresholdPercentage: 'autoscaling.knative.dev/panic-threshold-percentage',
  scaleDownDelay: 'autoscaling.knative.dev/scale-down-delay',
  // Cloud Run
  location: 'cloud.googleapis.com/location',
  ingress: 'run.googleapis.com/ingress',
  cpuThrottling: 'run.googleapis.com/cpu-throttling',
  invokerIamDisabled: 'run.googleapis.com/invoker-iam-disabled',
  description: 'run.googleapis.com/description',
  // kumo
  source: 'kumo.dev/source',
  runtime: 'kumo.dev/runtime',
  network: 'kumo.dev/network',
  imageDigest: 'kumo.dev/image-digest',
} as const;
