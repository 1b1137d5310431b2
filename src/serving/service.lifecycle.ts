/** Status conditions, Knative's way: set one, keep the others, stamp transitions. Pure. */
import type { Condition, ConditionType } from './service.types.js';

export function setCondition(
  conditions: Condition[],
  type: ConditionType,
  status: Condition['status'],
  nowIso: string,
  reason?: string,
  message?: string,
): Condition[] {
  const prev = conditions.find((c) => c.type === type);
  const next: Condition = {
    type,
    status,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : nowIso,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    ...(status === 'False' ? { severity: 'Error' as const } : {}),
  };
  const rest = conditions.filter((c) => c.type !== type);
  return [...rest, next].sort((a, b) => order(a.type) - order(b.type));
}

const ORDER: ConditionType[] = ['Ready', 'ConfigurationsReady', 'RoutesReady', 'Active', 'ContainerHealthy', 'ResourcesAvailable'];
const order = (t: ConditionType) => ORDER.indexOf(t);

export function conditionOf(conditions: Condition[], type: ConditionType): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

export function isReady(conditions: Condition[]): boolean {
  return conditionOf(conditions, 'Ready')?.status === 'True';
}

export function isFailed(conditions: Condition[]): boolean {
  return conditionOf(conditions, 'Ready')?.status === 'False';
}
