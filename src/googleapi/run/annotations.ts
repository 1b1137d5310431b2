/**
 * Cloud Run v1 carries most features as `run.googleapis.com/*` and `autoscaling.knative.dev/*`
 * annotations. kumo accepts those it honours (or that only inform), ignores the ones the system
 * writes, and refuses the rest by name with the gcloud flag that set them, so a deploy never
 * silently loses a setting.
 */
import type { FieldViolation } from '../../shared/errors.js';

/** Honoured by kumo's serving model, or informational (who deployed it, with what). */
const ACCEPTED = new Set([
  'run.googleapis.com/client-name', 'run.googleapis.com/client-version', 'run.googleapis.com/description',
  'run.googleapis.com/ingress', 'run.googleapis.com/invoker-iam-disabled', 'run.googleapis.com/launch-stage',
  'run.googleapis.com/cpu-throttling', 'run.googleapis.com/startup-cpu-boost', 'run.googleapis.com/execution-environment',
  'run.googleapis.com/minScale', 'run.googleapis.com/maxScale',
  'autoscaling.knative.dev/minScale', 'autoscaling.knative.dev/maxScale', 'autoscaling.knative.dev/min-scale',
  'autoscaling.knative.dev/max-scale', 'autoscaling.knative.dev/initial-scale', 'autoscaling.knative.dev/target',
  'autoscaling.knative.dev/target-utilization-percentage', 'autoscaling.knative.dev/window',
  'autoscaling.knative.dev/panic-window-percentage', 'autoscaling.knative.dev/panic-threshold-percentage',
  'autoscaling.knative.dev/scale-down-delay',
]);

/** Written by the system; a client echoing them back (gcloud replaces what it read) changes nothing. */
const SYSTEM_WRITTEN = new Set([
  'run.googleapis.com/ingress-status', 'run.googleapis.com/operation-id', 'run.googleapis.com/urls',
  'run.googleapis.com/lastModifier', 'run.googleapis.com/lastUpdatedTime', 'run.googleapis.com/satisfiesPzs',
  'run.googleapis.com/supportsPzs', 'serving.knative.dev/creator', 'serving.knative.dev/lastModifier',
]);

const FLAG_OF: Record<string, string> = {
  'run.googleapis.com/vpc-access-connector': '--vpc-connector',
  'run.googleapis.com/vpc-access-egress': '--vpc-egress',
  'run.googleapis.com/network-interfaces': '--network/--subnet',
  'run.googleapis.com/cloudsql-instances': '--add-cloudsql-instances',
  'run.googleapis.com/secrets': '--set-secrets',
  'run.googleapis.com/encryption-key': '--key',
  'run.googleapis.com/sessionAffinity': '--session-affinity',
  'run.googleapis.com/container-dependencies': '--container … --depends-on',
  'run.googleapis.com/binary-authorization': '--binary-authorization',
  'run.googleapis.com/custom-audiences': '--add-custom-audiences',
  'run.googleapis.com/default-url-disabled': '--no-default-url',
  'run.googleapis.com/iap-enabled': '--iap',
  'run.googleapis.com/mesh': '--mesh',
  'run.googleapis.com/gpu-zonal-redundancy-disabled': '--no-gpu-zonal-redundancy',
  'run.googleapis.com/health-check-disabled': '--no-health-check',
  'run.googleapis.com/scalingMode': '--scaling',
  'run.googleapis.com/manualInstanceCount': '--scaling',
};

const GOVERNED = ['run.googleapis.com/', 'autoscaling.knative.dev/'];

/** Violations for annotations kumo would have to drop. */
export function checkAnnotations(annotations: Record<string, string>, path: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const key of Object.keys(annotations)) {
    if (!GOVERNED.some((p) => key.startsWith(p)) || ACCEPTED.has(key) || SYSTEM_WRITTEN.has(key)) continue;
    const flag = FLAG_OF[key];
    out.push({ field: `${path}["${key}"]`, description: `kumo does not support ${key}${flag ? ` (gcloud ${flag})` : ''} yet; remove it` });
  }
  return out;
}
