/**
 * A Cloud Run Admin v2 Service (proto3 JSON, already type-checked by the codec) → kumo's
 * ServiceInput. Typed fields become the annotations Cloud Run v1 uses; fields kumo cannot honour
 * are refused by name rather than silently dropped. Output-only fields are ignored (AIP-203).
 */
import type { Container, ServiceInput, TrafficTarget } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { Json, JsonObject } from '../json.types.js';
import { isJsonObject } from '../json.types.js';
import { ANNOTATION, INGRESS_TO_V2, isSystemKey } from './v2-out.js';

const UNSUPPORTED_SERVICE = ['binaryAuthorization', 'scaling', 'defaultUriDisabled', 'customAudiences', 'buildConfig', 'multiRegionSettings', 'iapEnabled', 'threatDetectionEnabled'];
const UNSUPPORTED_TEMPLATE = ['vpcAccess', 'volumes', 'encryptionKey', 'sessionAffinity', 'serviceMesh', 'encryptionKeyRevocationAction', 'encryptionKeyShutdownDuration', 'nodeSelector', 'healthCheckDisabled', 'gpuZonalRedundancyDisabled'];
const UNSUPPORTED_CONTAINER = ['volumeMounts', 'livenessProbe', 'startupProbe', 'dependsOn', 'baseImageUri', 'buildInfo', 'sourceCode'];
const SUPPORTED_LIMITS = ['cpu', 'memory'];

/** The codec has already checked types; this narrows a string field. */
function str(value: Json | undefined): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function unsupported(v: FieldViolation[], obj: JsonObject, keys: readonly string[], path: string): void {
  for (const k of keys) {
    const value = obj[k];
    const empty = value === undefined || value === false || (Array.isArray(value) && value.length === 0) || (isJsonObject(value) && Object.keys(value).length === 0);
    if (!empty) v.push({ field: `${path}.${k}`, description: 'kumo does not support this field yet; remove it' });
  }
}

function strings(v: FieldViolation[], map: Json | undefined, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(isJsonObject(map) ? map : {})) {
    if (isSystemKey(k)) {
      v.push({ field: `${path}["${k}"]`, description: `keys under ${k.slice(0, k.indexOf('/') + 1)} are reserved for Cloud Run; use the typed field instead` });
      continue;
    }
    out[k] = str(value);
  }
  return out;
}

function containerIn(v: FieldViolation[], c: JsonObject, path: string, templateAnnotations: Record<string, string>): Container {
  unsupported(v, c, UNSUPPORTED_CONTAINER, path);
  const out: Container = {};
  if (typeof c['name'] === 'string') out.name = c['name'];
  if (typeof c['image'] === 'string') out.image = c['image'];
  if (Array.isArray(c['command'])) out.command = c['command'] as string[];
  if (Array.isArray(c['args'])) out.args = c['args'] as string[];
  if (typeof c['workingDir'] === 'string') out.workingDir = c['workingDir'];
  if (Array.isArray(c['env'])) {
    out.env = (c['env'] as JsonObject[]).map((e, i) => {
      if (e['valueSource'] !== undefined) v.push({ field: `${path}.env[${i}].valueSource`, description: 'secret references are not supported by kumo yet; pass a value' });
      return { name: str(e['name']), value: str(e['value']) };
    });
  }
  if (Array.isArray(c['ports'])) {
    out.ports = (c['ports'] as JsonObject[]).map((p) => ({ ...(typeof p['name'] === 'string' ? { name: p['name'] } : {}), containerPort: Number(p['containerPort'] ?? 8080) }));
  }
  const resources = isJsonObject(c['resources']) ? c['resources'] : {};
  const limits = isJsonObject(resources['limits']) ? resources['limits'] : {};
  for (const k of Object.keys(limits)) {
    if (!SUPPORTED_LIMITS.includes(k)) v.push({ field: `${path}.resources.limits["${k}"]`, description: 'kumo supports only cpu and memory limits' });
  }
  if (limits['cpu'] !== undefined || limits['memory'] !== undefined) {
    out.resources = { limits: { ...(limits['cpu'] !== undefined ? { cpu: str(limits['cpu']) } : {}), ...(limits['memory'] !== undefined ? { memory: str(limits['memory']) } : {}) } };
  }
  if (typeof resources['cpuIdle'] === 'boolean') templateAnnotations[KEYS.cpuThrottling] = String(resources['cpuIdle']);
  if (typeof resources['startupCpuBoost'] === 'boolean') templateAnnotations[ANNOTATION.startupCpuBoost] = String(resources['startupCpuBoost']);
  return out;
}

function timeoutSeconds(v: FieldViolation[], value: Json | undefined, path: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d+))?s$/.exec(value);
  if (!m || (m[2] && /[1-9]/.test(m[2]))) {
    v.push({ field: path, description: `must be a whole number of seconds (e.g. "300s"), got "${value}"` });
    return undefined;
  }
  return Number(m[1]);
}

function trafficIn(v: FieldViolation[], list: Json | undefined, path: string): TrafficTarget[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return (list as JsonObject[]).map((t, i) => {
    const type = t['type'] ?? (t['revision'] ? 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' : 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST');
    const out: TrafficTarget = {};
    if (type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST') out.latestRevision = true;
    else if (typeof t['revision'] === 'string' && t['revision']) out.revisionName = t['revision'].split('/').at(-1);
    else v.push({ field: `${path}[${i}].revision`, description: 'is required when type is TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' });
    if (typeof t['percent'] === 'number') out.percent = t['percent'];
    if (typeof t['tag'] === 'string' && t['tag']) out.tag = t['tag'];
    return out;
  });
}

const INGRESS_FROM_V2 = Object.fromEntries(Object.entries(INGRESS_TO_V2).map(([k, val]) => [val, k]));

/** Map a v2 Service to ServiceInput; `path` prefixes violation fields (`service`). */
export function serviceFromV2(s: JsonObject, name: string, path = 'service'): ServiceInput {
  const v: FieldViolation[] = [];
  unsupported(v, s, UNSUPPORTED_SERVICE, path);
  const labels = strings(v, s['labels'], `${path}.labels`);
  const annotations = strings(v, s['annotations'], `${path}.annotations`);
  if (typeof s['description'] === 'string' && s['description']) annotations[KEYS.description] = s['description'];
  if (typeof s['client'] === 'string' && s['client']) annotations[ANNOTATION.clientName] = s['client'];
  if (typeof s['clientVersion'] === 'string' && s['clientVersion']) annotations[ANNOTATION.clientVersion] = s['clientVersion'];
  if (typeof s['ingress'] === 'string' && s['ingress'] !== 'INGRESS_TRAFFIC_UNSPECIFIED') {
    const ingress = INGRESS_FROM_V2[s['ingress']];
    if (ingress) annotations[KEYS.ingress] = ingress;
  }
  if (typeof s['launchStage'] === 'string' && s['launchStage'] !== 'LAUNCH_STAGE_UNSPECIFIED') annotations[ANNOTATION.launchStage] = s['launchStage'];
  if (s['invokerIamDisabled'] === true) annotations[KEYS.invokerIamDisabled] = 'true';

  const t = isJsonObject(s['template']) ? s['template'] : {};
  const tpath = `${path}.template`;
  unsupported(v, t, UNSUPPORTED_TEMPLATE, tpath);
  const tLabels = strings(v, t['labels'], `${tpath}.labels`);
  const tAnnotations = strings(v, t['annotations'], `${tpath}.annotations`);
  const scaling = isJsonObject(t['scaling']) ? t['scaling'] : {};
  if (typeof scaling['minInstanceCount'] === 'number') tAnnotations[KEYS.minScale] = String(scaling['minInstanceCount']);
  if (typeof scaling['maxInstanceCount'] === 'number') tAnnotations[KEYS.maxScale] = String(scaling['maxInstanceCount']);
  const env = t['executionEnvironment'];
  if (env === 'EXECUTION_ENVIRONMENT_GEN1' || env === 'EXECUTION_ENVIRONMENT_GEN2') tAnnotations[ANNOTATION.executionEnvironment] = env.slice(-4).toLowerCase();
  const containersJson = Array.isArray(t['containers']) ? (t['containers'] as JsonObject[]) : [];
  if (containersJson.length === 0) v.push({ field: `${tpath}.containers`, description: 'is required: one container with an image' });
  const containers = containersJson.map((c, i) => containerIn(v, c, `${tpath}.containers[${i}]`, tAnnotations));
  const timeout = timeoutSeconds(v, t['timeout'], `${tpath}.timeout`);

  const traffic = trafficIn(v, s['traffic'], `${path}.traffic`);
  if (v.length > 0) throw invalidArgument(v);
  return {
    metadata: {
      name,
      labels,
      annotations,
      ...(typeof s['etag'] === 'string' && s['etag'] ? { resourceVersion: s['etag'] } : {}),
    },
    spec: {
      template: {
        metadata: {
          ...(typeof t['revision'] === 'string' && t['revision'] ? { name: t['revision'] } : {}),
          labels: tLabels,
          annotations: tAnnotations,
        },
        spec: {
          containers,
          ...(typeof t['maxInstanceRequestConcurrency'] === 'number' ? { containerConcurrency: t['maxInstanceRequestConcurrency'] } : {}),
          ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
          ...(typeof t['serviceAccount'] === 'string' && t['serviceAccount'] ? { serviceAccountName: t['serviceAccount'] } : {}),
        },
      },
      ...(traffic ? { traffic } : {}),
    },
  };
}
