/**
 * kumo's Knative-shaped Service and Revision → Cloud Run Admin v2 wire types (proto3 JSON of
 * google.cloud.run.v2.Service / Revision). System annotations become typed fields, as on Cloud Run.
 */
import type { Revision } from '../../serving/revision.types.js';
import type { Condition, Container, RevisionSpec, RevisionTemplate, Service, TrafficTarget } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import type { Json, JsonObject } from '../json.types.js';
import type { Scope } from './names.js';
import { locationOf, serviceName } from './names.js';

/** Label and annotation namespaces Cloud Run v2 keeps to itself (they surface as typed fields). */
export const SYSTEM_PREFIXES = ['run.googleapis.com/', 'cloud.googleapis.com/', 'serving.knative.dev/', 'autoscaling.knative.dev/'];

export const INGRESS_TO_V2: Record<string, string> = {
  all: 'INGRESS_TRAFFIC_ALL',
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
  none: 'INGRESS_TRAFFIC_NONE',
};

export const LAUNCH_STAGES = ['UNIMPLEMENTED', 'PRELAUNCH', 'EARLY_ACCESS', 'ALPHA', 'BETA', 'GA', 'DEPRECATED'];

export const ANNOTATION = {
  launchStage: 'run.googleapis.com/launch-stage',
  clientName: 'run.googleapis.com/client-name',
  clientVersion: 'run.googleapis.com/client-version',
  startupCpuBoost: 'run.googleapis.com/startup-cpu-boost',
  executionEnvironment: 'run.googleapis.com/execution-environment',
} as const;

export function isSystemKey(key: string): boolean {
  return SYSTEM_PREFIXES.some((p) => key.startsWith(p));
}

function userEntries(map: Record<string, string> | undefined): JsonObject | undefined {
  const out: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(map ?? {})) {
    if (isSystemKey(k)) continue;
    out[k] = v;
    any = true;
  }
  return any ? out : undefined;
}

function put(target: JsonObject, key: string, value: Json | undefined): void {
  if (value !== undefined && value !== '') target[key] = value;
}

const REASONS = new Set(['REVISION_FAILED', 'PROGRESS_DEADLINE_EXCEEDED', 'CONTAINER_MISSING', 'CONTAINER_PERMISSION_DENIED', 'CONTAINER_IMAGE_UNAUTHORIZED', 'WAITING_FOR_OPERATION', 'IMMEDIATE_RETRY', 'POSTPONED_RETRY', 'INTERNAL']);
const REVISION_REASONS = new Set(['PENDING', 'RESERVE', 'RETIRED', 'RETIRING', 'RECREATING', 'HEALTH_CHECK_CONTAINER_ERROR', 'MIN_INSTANCES_NOT_PROVISIONED', 'NO_DEPLOYMENT', 'MIN_INSTANCES_WARMING']);

function upperSnake(camel: string): string {
  return camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function conditionToV2(c: Condition, forRevision = false): JsonObject {
  const out: JsonObject = {
    type: c.type,
    state: c.status === 'True' ? 'CONDITION_SUCCEEDED' : c.status === 'False' ? 'CONDITION_FAILED' : 'CONDITION_RECONCILING',
    lastTransitionTime: c.lastTransitionTime,
  };
  put(out, 'message', c.message ?? (c.status === 'False' && c.reason ? c.reason : undefined));
  if (c.severity) out['severity'] = c.severity.toUpperCase();
  const reason = c.reason ? upperSnake(c.reason) : undefined;
  if (reason && REASONS.has(reason)) out['reason'] = reason;
  else if (reason && forRevision && REVISION_REASONS.has(reason)) out['revisionReason'] = reason;
  return out;
}

function containerToV2(c: Container, cpuIdle: boolean | undefined, startupBoost: boolean | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, 'name', c.name);
  put(out, 'image', c.image);
  if (c.command?.length) out['command'] = c.command;
  if (c.args?.length) out['args'] = c.args;
  if (c.env?.length) out['env'] = c.env.map((e) => ({ name: e.name, value: e.value }));
  const resources: JsonObject = {};
  const limits: JsonObject = {};
  if (c.resources?.limits?.cpu) limits['cpu'] = c.resources.limits.cpu;
  if (c.resources?.limits?.memory) limits['memory'] = c.resources.limits.memory;
  if (Object.keys(limits).length) resources['limits'] = limits;
  if (cpuIdle !== undefined) resources['cpuIdle'] = cpuIdle;
  if (startupBoost !== undefined) resources['startupCpuBoost'] = startupBoost;
  if (Object.keys(resources).length) out['resources'] = resources;
  if (c.ports?.length) out['ports'] = c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort }));
  put(out, 'workingDir', c.workingDir);
  return out;
}

function boolAnnotation(a: Record<string, string> | undefined, key: string): boolean | undefined {
  const v = a?.[key];
  return v === undefined ? undefined : v === 'true';
}

function scalingOf(a: Record<string, string> | undefined): JsonObject | undefined {
  const min = a?.[KEYS.minScale] ?? a?.[KEYS.minScaleKebab];
  const max = a?.[KEYS.maxScale] ?? a?.[KEYS.maxScaleKebab];
  if (min === undefined && max === undefined) return undefined;
  const out: JsonObject = {};
  if (min !== undefined) out['minInstanceCount'] = Number(min);
  if (max !== undefined) out['maxInstanceCount'] = Number(max);
  return out;
}

/** The parts a RevisionTemplate and a Revision share. */
function revisionSpecToV2(spec: RevisionSpec, annotations: Record<string, string> | undefined, out: JsonObject): void {
  const cpuIdle = boolAnnotation(annotations, KEYS.cpuThrottling);
  const boost = boolAnnotation(annotations, ANNOTATION.startupCpuBoost);
  const scaling = scalingOf(annotations);
  if (scaling) out['scaling'] = scaling;
  if (spec.timeoutSeconds !== undefined) out['timeout'] = `${spec.timeoutSeconds}s`;
  put(out, 'serviceAccount', spec.serviceAccountName);
  out['containers'] = spec.containers.map((c) => containerToV2(c, cpuIdle, boost));
  if (spec.containerConcurrency !== undefined) out['maxInstanceRequestConcurrency'] = spec.containerConcurrency;
  const env = annotations?.[ANNOTATION.executionEnvironment];
  if (env === 'gen1' || env === 'gen2') out['executionEnvironment'] = `EXECUTION_ENVIRONMENT_${env.toUpperCase()}`;
}

function templateToV2(t: RevisionTemplate): JsonObject {
  const out: JsonObject = {};
  put(out, 'revision', t.metadata.name);
  const labels = userEntries(t.metadata.labels);
  if (labels) out['labels'] = labels;
  const annotations = userEntries(t.metadata.annotations);
  if (annotations) out['annotations'] = annotations;
  revisionSpecToV2(t.spec, t.metadata.annotations, out);
  return out;
}

function trafficToV2(t: TrafficTarget): JsonObject {
  const out: JsonObject = { type: t.latestRevision ? 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' : 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' };
  if (!t.latestRevision) put(out, 'revision', t.revisionName);
  if (t.percent !== undefined) out['percent'] = t.percent;
  put(out, 'tag', t.tag);
  return out;
}

function trafficStatusToV2(t: TrafficTarget): JsonObject {
  const out = trafficToV2(t);
  if (t.latestRevision) put(out, 'revision', t.revisionName);
  put(out, 'uri', t.url);
  return out;
}

/** Cloud Run's `reconciling`: the system is still working toward the spec. */
export function isReconciling(generation: number, observedGeneration: number, conditions: readonly Condition[]): boolean {
  const ready = conditions.find((c) => c.type === 'Ready');
  return observedGeneration !== generation || !ready || ready.status === 'Unknown';
}

export function serviceToV2(s: Service, scope: Scope): JsonObject {
  const location = locationOf(s, scope);
  const name = serviceName(scope, location, s.metadata.name);
  const a = s.metadata.annotations;
  const out: JsonObject = { name, uid: s.metadata.uid, generation: String(s.metadata.generation) };
  const labels = userEntries(s.metadata.labels);
  if (labels) out['labels'] = labels;
  const annotations = userEntries(a);
  if (annotations) out['annotations'] = annotations;
  out['createTime'] = s.metadata.creationTimestamp;
  const changed = s.status.conditions.map((c) => c.lastTransitionTime).sort().at(-1);
  out['updateTime'] = changed && changed > s.metadata.creationTimestamp ? changed : s.metadata.creationTimestamp;
  put(out, 'creator', a[KEYS.creator]);
  put(out, 'lastModifier', a[KEYS.lastModifier]);
  put(out, 'client', a[ANNOTATION.clientName]);
  put(out, 'clientVersion', a[ANNOTATION.clientVersion]);
  put(out, 'description', a[KEYS.description]);
  out['ingress'] = INGRESS_TO_V2[a[KEYS.ingress] ?? 'all'] ?? 'INGRESS_TRAFFIC_ALL';
  const stage = a[ANNOTATION.launchStage];
  if (stage && LAUNCH_STAGES.includes(stage)) out['launchStage'] = stage;
  out['template'] = templateToV2(s.spec.template);
  out['traffic'] = s.spec.traffic.map(trafficToV2);
  if (a[KEYS.invokerIamDisabled] === 'true') out['invokerIamDisabled'] = true;
  out['observedGeneration'] = String(s.status.observedGeneration);
  const ready = s.status.conditions.find((c) => c.type === 'Ready');
  if (ready) out['terminalCondition'] = conditionToV2(ready);
  const others = s.status.conditions.filter((c) => c.type !== 'Ready');
  if (others.length) out['conditions'] = others.map((c) => conditionToV2(c));
  if (s.status.latestReadyRevisionName) out['latestReadyRevision'] = `${name}/revisions/${s.status.latestReadyRevisionName}`;
  if (s.status.latestCreatedRevisionName) out['latestCreatedRevision'] = `${name}/revisions/${s.status.latestCreatedRevisionName}`;
  if (s.status.traffic.length) out['trafficStatuses'] = s.status.traffic.map(trafficStatusToV2);
  if (s.status.url) {
    out['uri'] = s.status.url;
    out['urls'] = [s.status.url];
  }
  out['reconciling'] = isReconciling(s.metadata.generation, s.status.observedGeneration, s.status.conditions);
  out['etag'] = s.metadata.resourceVersion;
  return out;
}

export function revisionToV2(r: Revision, scope: Scope, location: string): JsonObject {
  const service = r.metadata.labels[KEYS.serviceLabel] ?? '';
  const svcName = serviceName(scope, location, service);
  const out: JsonObject = {
    name: `${svcName}/revisions/${r.metadata.name}`,
    uid: r.metadata.uid,
    generation: String(r.metadata.generation),
  };
  const labels = userEntries(r.metadata.labels);
  if (labels) out['labels'] = labels;
  const annotations = userEntries(r.metadata.annotations);
  if (annotations) out['annotations'] = annotations;
  out['createTime'] = r.metadata.creationTimestamp;
  const changed = r.status.conditions.map((c) => c.lastTransitionTime).sort().at(-1);
  out['updateTime'] = changed && changed > r.metadata.creationTimestamp ? changed : r.metadata.creationTimestamp;
  out['service'] = svcName;
  revisionSpecToV2(r.spec, r.metadata.annotations, out);
  out['reconciling'] = isReconciling(r.metadata.generation, r.status.observedGeneration, r.status.conditions);
  if (r.status.conditions.length) out['conditions'] = r.status.conditions.map((c) => conditionToV2(c, true));
  out['observedGeneration'] = String(r.status.observedGeneration);
  put(out, 'logUri', r.status.logUrl);
  out['etag'] = r.metadata.resourceVersion;
  return out;
}
