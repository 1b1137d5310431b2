/**
 * Knative's Configuration and Route, derived from a Service (kumo stores only the Service and its
 * Revisions; Cloud Run v1 still answers for the other two, and gcloud asks for them).
 */
import type { Condition, Service } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import type { JsonObject } from '../json.types.js';

function readyFrom(conditions: readonly Condition[], type: Condition['type']): Condition[] {
  const c = conditions.find((x) => x.type === type);
  return c ? [{ ...c, type: 'Ready' }] : [];
}

function childMeta(s: Service, kind: 'Configuration' | 'Route'): JsonObject {
  const labels: Record<string, string> = { ...s.metadata.labels, [KEYS.serviceLabel]: s.metadata.name };
  return {
    name: s.metadata.name,
    namespace: s.metadata.namespace,
    uid: `${s.metadata.uid}-${kind.toLowerCase()}`,
    generation: s.metadata.generation,
    resourceVersion: s.metadata.resourceVersion,
    creationTimestamp: s.metadata.creationTimestamp,
    labels,
    annotations: { ...s.metadata.annotations },
    ownerReferences: [{ apiVersion: s.apiVersion, kind: 'Service', name: s.metadata.name, uid: s.metadata.uid, controller: true, blockOwnerDeletion: true }],
  };
}

export function configurationOf(s: Service): JsonObject {
  return {
    apiVersion: s.apiVersion,
    kind: 'Configuration',
    metadata: childMeta(s, 'Configuration'),
    spec: { template: s.spec.template },
    status: {
      observedGeneration: s.status.observedGeneration,
      conditions: readyFrom(s.status.conditions, 'ConfigurationsReady'),
      ...(s.status.latestCreatedRevisionName ? { latestCreatedRevisionName: s.status.latestCreatedRevisionName } : {}),
      ...(s.status.latestReadyRevisionName ? { latestReadyRevisionName: s.status.latestReadyRevisionName } : {}),
    },
  } as unknown as JsonObject;
}

export function routeOf(s: Service): JsonObject {
  return {
    apiVersion: s.apiVersion,
    kind: 'Route',
    metadata: childMeta(s, 'Route'),
    spec: { traffic: s.spec.traffic.map((t) => ({ ...t, ...(t.latestRevision ? { configurationName: s.metadata.name } : {}) })) },
    status: {
      observedGeneration: s.status.observedGeneration,
      conditions: readyFrom(s.status.conditions, 'RoutesReady'),
      traffic: s.status.traffic,
      ...(s.status.url ? { url: s.status.url, address: { url: s.status.url } } : {}),
    },
  } as unknown as JsonObject;
}
