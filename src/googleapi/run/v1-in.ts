/**
 * A Cloud Run Admin v1 (Knative `serving.knative.dev/v1`) Service body → kumo's ServiceInput,
 * checked field by field. Fields kumo cannot keep are refused by name rather than dropped, so a
 * resource read back is the resource written.
 */
import type { Container, RevisionTemplate, ServiceInput, TrafficTarget } from '../../serving/service.types.js';
import { API_VERSION } from '../../serving/service.types.js';
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { Json, JsonObject } from '../json.types.js';
import { isJsonObject } from '../json.types.js';
import { checkAnnotations } from './annotations.js';

/** gcloud sends empty placeholders (`nodeSelector: {}`, `name: ""`); they carry nothing to lose. */
function isEmpty(value: Json): boolean {
  return value === null || value === '' || (Array.isArray(value) && value.length === 0) || (isJsonObject(value) && Object.keys(value).length === 0);
}

class Check {
  readonly v: FieldViolation[] = [];

  fail(field: string, description: string): undefined {
    this.v.push({ field, description });
    return undefined;
  }

  /** Refuse keys outside `allowed` (they would be lost). */
  only(obj: JsonObject, allowed: readonly string[], path: string, ignored: readonly string[] = []): void {
    for (const [k, value] of Object.entries(obj)) {
      if (allowed.includes(k) || ignored.includes(k) || isEmpty(value)) continue;
      this.fail(`${path}.${k}`, 'kumo does not support this field yet; remove it');
    }
  }

  object(value: Json | undefined, path: string, required = false): JsonObject | undefined {
    if (value === undefined || value === null) return required ? this.fail(path, 'is required') : undefined;
    return isJsonObject(value) ? value : this.fail(path, 'must be an object');
  }

  string(value: Json | undefined, path: string, required = false): string | undefined {
    if (value === undefined || value === null) return required ? this.fail(path, 'is required') : undefined;
    return typeof value === 'string' ? value : this.fail(path, `must be a string, got ${JSON.stringify(value)}`);
  }

  int(value: Json | undefined, path: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    return typeof n === 'number' && Number.isInteger(n) ? n : this.fail(path, `must be an integer, got ${JSON.stringify(value)}`);
  }

  bool(value: Json | undefined, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    return typeof value === 'boolean' ? value : this.fail(path, `must be true or false, got ${JSON.stringify(value)}`);
  }

  strings(value: Json | undefined, path: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) return this.fail(path, 'must be an array of strings');
    return value as string[];
  }

  map(value: Json | undefined, path: string): Record<string, string> | undefined {
    const obj = this.object(value, path);
    if (!obj) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'string') this.fail(`${path}["${k}"]`, 'must be a string');
      else out[k] = v;
    }
    return out;
  }

  list(value: Json | undefined, path: string): JsonObject[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) return this.fail(path, 'must be an array') ?? [];
    return value.flatMap((x, i) => (isJsonObject(x) ? [x] : (this.fail(`${path}[${i}]`, 'must be an object'), [])));
  }
}

const META_OUTPUT = ['namespace', 'uid', 'generation', 'creationTimestamp', 'selfLink', 'deletionTimestamp', 'finalizers', 'ownerReferences', 'clusterName', 'generateName', 'deletionGracePeriodSeconds'];

function container(c: Check, obj: JsonObject, path: string): Container {
  c.only(obj, ['name', 'image', 'command', 'args', 'env', 'ports', 'resources', 'workingDir'], path);
  const out: Container = {};
  const name = c.string(obj['name'], `${path}.name`);
  if (name) out.name = name;
  const image = c.string(obj['image'], `${path}.image`);
  if (image) out.image = image;
  const command = c.strings(obj['command'], `${path}.command`);
  if (command) out.command = command;
  const args = c.strings(obj['args'], `${path}.args`);
  if (args) out.args = args;
  const wd = c.string(obj['workingDir'], `${path}.workingDir`);
  if (wd) out.workingDir = wd;
  const env = c.list(obj['env'], `${path}.env`);
  if (obj['env'] !== undefined) {
    out.env = env.map((e, i) => {
      c.only(e, ['name', 'value'], `${path}.env[${i}]`);
      return { name: c.string(e['name'], `${path}.env[${i}].name`, true) ?? '', value: c.string(e['value'], `${path}.env[${i}].value`) ?? '' };
    });
  }
  const ports = c.list(obj['ports'], `${path}.ports`);
  if (obj['ports'] !== undefined) {
    out.ports = ports.map((p, i) => {
      c.only(p, ['name', 'containerPort', 'protocol'], `${path}.ports[${i}]`);
      const pname = c.string(p['name'], `${path}.ports[${i}].name`);
      return { ...(pname ? { name: pname } : {}), containerPort: c.int(p['containerPort'], `${path}.ports[${i}].containerPort`) ?? 8080 };
    });
  }
  const resources = c.object(obj['resources'], `${path}.resources`);
  if (resources) {
    c.only(resources, ['limits'], `${path}.resources`, ['requests']);
    const limits = c.map(resources['limits'], `${path}.resources.limits`);
    if (limits) {
      for (const k of Object.keys(limits)) if (k !== 'cpu' && k !== 'memory') c.fail(`${path}.resources.limits["${k}"]`, 'kumo supports only cpu and memory limits');
      out.resources = { limits: { ...(limits['cpu'] ? { cpu: limits['cpu'] } : {}), ...(limits['memory'] ? { memory: limits['memory'] } : {}) } };
    }
  }
  return out;
}

function template(c: Check, obj: JsonObject | undefined, path: string): RevisionTemplate {
  const t = obj ?? {};
  c.only(t, ['metadata', 'spec'], path);
  const meta = c.object(t['metadata'], `${path}.metadata`) ?? {};
  c.only(meta, ['name', 'labels', 'annotations'], `${path}.metadata`, META_OUTPUT);
  const spec = c.object(t['spec'], `${path}.spec`, true) ?? {};
  c.only(spec, ['containerConcurrency', 'timeoutSeconds', 'serviceAccountName', 'containers'], `${path}.spec`);
  const containers = c.list(spec['containers'], `${path}.spec.containers`).map((x, i) => container(c, x, `${path}.spec.containers[${i}]`));
  const name = c.string(meta['name'], `${path}.metadata.name`);
  const cc = c.int(spec['containerConcurrency'], `${path}.spec.containerConcurrency`);
  const timeout = c.int(spec['timeoutSeconds'], `${path}.spec.timeoutSeconds`);
  const sa = c.string(spec['serviceAccountName'], `${path}.spec.serviceAccountName`);
  return {
    metadata: {
      ...(name ? { name } : {}),
      labels: c.map(meta['labels'], `${path}.metadata.labels`) ?? {},
      annotations: c.map(meta['annotations'], `${path}.metadata.annotations`) ?? {},
    },
    spec: {
      containers,
      ...(cc !== undefined ? { containerConcurrency: cc } : {}),
      ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
      ...(sa ? { serviceAccountName: sa } : {}),
    },
  };
}

function traffic(c: Check, list: JsonObject[], path: string): TrafficTarget[] {
  return list.map((t, i) => {
    const p = `${path}[${i}]`;
    c.only(t, ['revisionName', 'latestRevision', 'percent', 'tag'], p, ['configurationName', 'url']);
    const out: TrafficTarget = {};
    const rev = c.string(t['revisionName'], `${p}.revisionName`);
    if (rev) out.revisionName = rev;
    const latest = c.bool(t['latestRevision'], `${p}.latestRevision`);
    if (latest !== undefined) out.latestRevision = latest;
    const percent = c.int(t['percent'], `${p}.percent`);
    if (percent !== undefined) out.percent = percent;
    const tag = c.string(t['tag'], `${p}.tag`);
    if (tag) out.tag = tag;
    return out;
  });
}

/**
 * Parse a v1 Service body. `name` is the name from the URL (replace) or undefined (create, where
 * the body names it). Status is ignored: it is the system's to write.
 */
export function serviceFromV1(body: Json | undefined, name?: string): ServiceInput {
  const c = new Check();
  const obj = c.object(body, 'body', true) ?? {};
  c.only(obj, ['apiVersion', 'kind', 'metadata', 'spec'], 'body', ['status']);
  const apiVersion = c.string(obj['apiVersion'], 'apiVersion');
  if (apiVersion !== undefined && apiVersion !== API_VERSION) c.fail('apiVersion', `must be ${API_VERSION}`);
  const kind = c.string(obj['kind'], 'kind');
  if (kind !== undefined && kind !== 'Service') c.fail('kind', 'must be Service');
  const meta = c.object(obj['metadata'], 'metadata', true) ?? {};
  c.only(meta, ['name', 'labels', 'annotations', 'resourceVersion'], 'metadata', META_OUTPUT);
  const bodyName = c.string(meta['name'], 'metadata.name', name === undefined);
  if (name !== undefined && bodyName !== undefined && bodyName !== name) c.fail('metadata.name', `"${bodyName}" does not match the service in the URL ("${name}")`);
  const rv = c.string(meta['resourceVersion'], 'metadata.resourceVersion');
  const spec = c.object(obj['spec'], 'spec', true) ?? {};
  c.only(spec, ['template', 'traffic'], 'spec');
  const tpl = template(c, c.object(spec['template'], 'spec.template', true), 'spec.template');
  const trafficList = traffic(c, c.list(spec['traffic'], 'spec.traffic'), 'spec.traffic');
  const annotations = c.map(meta['annotations'], 'metadata.annotations') ?? {};
  c.v.push(...checkAnnotations(annotations, 'metadata.annotations'), ...checkAnnotations(tpl.metadata.annotations ?? {}, 'spec.template.metadata.annotations'));
  if (c.v.length > 0) throw invalidArgument(c.v);
  return {
    metadata: {
      name: name ?? bodyName ?? '',
      labels: c.map(meta['labels'], 'metadata.labels') ?? {},
      annotations,
      ...(rv ? { resourceVersion: rv } : {}),
    },
    spec: { template: tpl, ...(trafficList.length ? { traffic: trafficList } : {}) },
  };
}
