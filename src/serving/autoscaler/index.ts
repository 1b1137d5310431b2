/** The autoscaler room's public surface: Knative's KPA, pure, plus its hot-path helpers. */
export { decideScale, initialScalerState, instanceStartReason } from './decide.js';
export type { InstanceStartReason, ScaleDecision, ScaleInput, ScaleReason, ScalerState } from './decide.js';
export { InFlightIntegrator } from './integrator.js';
export { SecondWindow } from './window.js';
export type { ConcurrencyWindow } from './window.js';
export {
  CLOUD_RUN_SCALING_DEFAULTS,
  EXTRA_SCALING_KEYS,
  defaultScalingSettings,
  resolveScalingSettings,
  validateServerScalingDefaults,
} from './settings.js';
export type { ResolvedScaling, ScalingRevisionSpec, ScalingSettings, ServerScalingDefaults } from './settings.js';
export { RevisionAutoscaler, cpuUtilizationBetween } from './revision-autoscaler.js';
export type { InstanceCounts } from './revision-autoscaler.js';
