/**
 * Validation of what a client asks for. Returns every problem with its field path, the allowed
 * range and how to fix it; never stops at the first.
 */
import type { FieldViolation } from '../shared/errors.js';
import { formatMemory, parseCpuMillis, parseMemoryBytes } from '../shared/units.js';
import { LIMITS } from './revision.settings.js';
import type { ServiceInput, TrafficTarget } from './service.types.js';
import { KEYS } from './service.types.js';

/** Cloud Run's rule: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, <= 49 chars. */
export const SERVICE_NAME_RE = /^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/;
const ENV_NAME_RE = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION']);
const TAG_RE = /^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$/;
const LABEL_KEY_RE = /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function validateServiceName(name: unknown, field = 'metadata.name'): FieldViolation[] {
  if (typeof name !== 'string' || name.length === 0) {
    return [{ field, description: 'a service name is required' }];
  }
  if (name.length > 49) {
    return [{ field, description: `"${name}" is ${name.length} characters; service names have at most 49` }];
  }
  if (!SERVICE_NAME_RE.test(name)) {
    return [
      {
        field,
        description: `"${name}" is not a valid service name: use lowercase letters, digits and hyphens, start with a letter and do not end with a hyphen (for example "hello-api")`,
      },
    ];
  }
  return [];
}

function isRecordOfStrings(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function intInRange(
  out: FieldViolation[],
  field: string,
  value: unknown,
  range: { min: number; max: number },
  what: string,
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    out.push({ field, description: `${what} must be a whole number from ${range.min} to ${range.max}; got ${JSON.stringify(value)}` });
  }
}

function scaleAnnotation(annotations: Record<string, string>, keys: string[]): { key: string; value: number | 'invalid' } | undefined {
  for (const key of keys) {
    const raw = annotations[key];
    if (raw === undefined) continue;
    return { key, value: /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : 'invalid' };
  }
  return undefined;
}

function validateTraffic(traffic: unknown, out: FieldViolation[]): void {
  if (traffic === undefined) return;
  if (!Array.isArray(traffic)) {
    out.push({ field: 'spec.traffic', description: 'must be a list of traffic targets' });
    return;
  }
  let sum = 0;
  const tags = new Set<string>();
  (traffic as TrafficTarget[]).forEach((t, i) => {
    const f = `spec.traffic[${i}]`;
    if (typeof t !== 'object' || t === null) {
      out.push({ field: f, description: 'must be an object with percent and revisionName or latestRevision' });
      return;
    }
    const percent = t.percent ?? 0;
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      out.push({ field: `${f}.percent`, description: `must be a whole number from 0 to 100; got ${JSON.stringify(t.percent)}` });
    } else sum += percent;
    if (t.latestRevision === true && t.revisionName) {
      out.push({ field: `${f}.revisionName`, description: 'set either revisionName or latestRevision: true, not both' });
    }
    if (t.latestRevision !== true && !t.revisionName) {
      out.push({ field: f, description: 'name a revision (revisionName) or set latestRevision: true' });
    }
    if (t.tag !== undefined) {
      if (typeof t.tag !== 'string' || !TAG_RE.test(t.tag)) {
        out.push({ field: `${f}.tag`, description: `"${String(t.tag)}" is not a valid tag: lowercase letters, digits and hyphens, starting with a letter` });
      } else if (tags.has(t.tag)) {
        out.push({ field: `${f}.tag`, description: `tag "${t.tag}" is used twice` });
      } else tags.add(t.tag);
    }
  });
  if (traffic.length > 0 && sum !== 100) {
    out.push({ field: 'spec.traffic', description: `percentages add up to ${sum}; they must add up to 100` });
  }
}

/** Every problem with a create/replace request. An empty list means it may be stored. */
export function validateServiceInput(input: unknown): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (typeof input !== 'object' || input === null) {
    return [{ field: '', description: 'the body must be a Service object with metadata and spec' }];
  }
  const s = input as Partial<ServiceInput>;
  out.push(...validateServiceName(s.metadata?.name));
  for (const key of ['labels', 'annotations'] as const) {
    const v = s.metadata?.[key];
    if (v !== undefined && !isRecordOfStrings(v)) out.push({ field: `metadata.${key}`, description: 'must map strings to strings' });
    else if (key === 'labels' && v) {
      for (const k of Object.keys(v)) {
        if (!LABEL_KEY_RE.test(k)) out.push({ field: `metadata.labels["${k}"]`, description: 'is not a valid label key' });
      }
    }
  }
  const template = s.spec?.template;
  if (!template || typeof template !== 'object') {
    out.push({ field: 'spec.template', description: 'is required: the revision template with at least one container' });
    return out;
  }
  const tmeta = template.metadata ?? {};
  const annotations = tmeta.annotations ?? {};
  if (!isRecordOfStrings(annotations)) out.push({ field: 'spec.template.metadata.annotations', description: 'must map strings to strings' });
  if (tmeta.name !== undefined && s.metadata?.name && !String(tmeta.name).startsWith(`${s.metadata.name}-`)) {
    out.push({ field: 'spec.template.metadata.name', description: `revision names must start with "${s.metadata.name}-"` });
  }
  const spec = template.spec;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    out.push({ field: 'spec.template.spec.containers', description: 'exactly one container is required' });
    return out;
  }
  if (spec.containers.length > 1) {
    out.push({ field: 'spec.template.spec.containers', description: `kumo runs one container per instance; got ${spec.containers.length} (sidecars are not supported yet)` });
  }
  intInRange(out, 'spec.template.spec.containerConcurrency', spec.containerConcurrency === 0 ? undefined : spec.containerConcurrency, LIMITS.concurrency, 'concurrency (--concurrency)');
  intInRange(out, 'spec.template.spec.timeoutSeconds', spec.timeoutSeconds, LIMITS.timeoutSeconds, 'timeout in seconds (--timeout)');

  const c = spec.containers[0];
  const cf = 'spec.template.spec.containers[0]';
  if (!c || typeof c !== 'object') return out;
  const source = isRecordOfStrings(annotations) ? annotations[KEYS.source] : undefined;
  if (!c.image && !source) out.push({ field: `${cf}.image`, description: 'give an image (--image) or a source folder (--source)' });
  if (c.image && source) out.push({ field: `${cf}.image`, description: 'give either an image or a source folder, not both' });
  if (c.image !== undefined && (typeof c.image !== 'string' || /\s/.test(c.image))) {
    out.push({ field: `${cf}.image`, description: `"${String(c.image)}" is not an image reference (for example localhost:8080/hello:v1)` });
  }
  if (source !== undefined && !/^sha256:[a-f0-9]{64}$/.test(source)) {
    out.push({ field: `spec.template.metadata.annotations["${KEYS.source}"]`, description: 'must be the sha256 digest of an uploaded source snapshot' });
  }
  for (const key of ['command', 'args'] as const) {
    const v = c[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
      out.push({ field: `${cf}.${key}`, description: 'must be a list of strings' });
    }
  }
  const env = c.env ?? [];
  if (!Array.isArray(env)) out.push({ field: `${cf}.env`, description: 'must be a list of {name, value}' });
  else {
    if (env.length > LIMITS.envVars) out.push({ field: `${cf}.env`, description: `at most ${LIMITS.envVars} variables; got ${env.length}` });
    const seen = new Set<string>();
    env.forEach((e, i) => {
      const f = `${cf}.env[${i}]`;
      if (!e || typeof e.name !== 'string' || !ENV_NAME_RE.test(e.name)) {
        out.push({ field: `${f}.name`, description: `"${String(e?.name)}" is not a valid variable name (letters, digits, _ . -, not starting with a digit)` });
        return;
      }
      if (RESERVED_ENV.has(e.name)) out.push({ field: `${f}.name`, description: `${e.name} is set by kumo (Cloud Run's container contract) and cannot be set; remove it` });
      if (seen.has(e.name)) out.push({ field: `${f}.name`, description: `${e.name} is set twice` });
      seen.add(e.name);
      if (typeof e.value !== 'string') out.push({ field: `${f}.value`, description: 'must be a string' });
      else if (Buffer.byteLength(e.value) > LIMITS.envValueBytes) out.push({ field: `${f}.value`, description: `is longer than ${LIMITS.envValueBytes} bytes` });
    });
  }
  const ports = c.ports ?? [];
  if (ports.length > 1) out.push({ field: `${cf}.ports`, description: 'one port only: the port requests are sent to' });
  const p0 = ports[0];
  if (p0) {
    intInRange(out, `${cf}.ports[0].containerPort`, p0.containerPort, LIMITS.port, 'the port (--port)');
    if (p0.name !== undefined && p0.name !== 'http1' && p0.name !== 'h2c') {
      out.push({ field: `${cf}.ports[0].name`, description: 'must be http1 or h2c' });
    }
  }
  const limits = c.resources?.limits ?? {};
  let cpuMillis = 1000;
  if (limits.cpu !== undefined) {
    const m = parseCpuMillis(String(limits.cpu));
    if (m === undefined || m < LIMITS.cpuMillis.min || m > LIMITS.cpuMillis.max || (m > 1000 && m % 1000 !== 0)) {
      out.push({ field: `${cf}.resources.limits.cpu`, description: `CPU (--cpu) must be from 0.08 to 8, whole numbers above 1; got "${String(limits.cpu)}"` });
    } else cpuMillis = m;
  }
  if (limits.memory !== undefined) {
    const b = parseMemoryBytes(String(limits.memory));
    if (b === undefined || b < LIMITS.memoryBytes.min || b > LIMITS.memoryBytes.max) {
      out.push({
        field: `${cf}.resources.limits.memory`,
        description: `memory (--memory) must be from ${formatMemory(LIMITS.memoryBytes.min)} to ${formatMemory(LIMITS.memoryBytes.max)} (for example 512Mi or 2Gi); got "${String(limits.memory)}"`,
      });
    }
  }
  if (cpuMillis < 1000 && (spec.containerConcurrency ?? 1) > 1) {
    out.push({ field: 'spec.template.spec.containerConcurrency', description: 'with less than 1 CPU, concurrency must be 1 (Cloud Run\'s rule); raise --cpu to 1 or set --concurrency 1' });
  }

  if (isRecordOfStrings(annotations)) {
    const min = scaleAnnotation(annotations, [KEYS.minScale, KEYS.minScaleKebab]);
    const max = scaleAnnotation(annotations, [KEYS.maxScale, KEYS.maxScaleKebab]);
    const af = (k: string) => `spec.template.metadata.annotations["${k}"]`;
    if (min?.value === 'invalid') out.push({ field: af(min.key), description: 'min instances (--min-instances) must be a whole number' });
    if (max?.value === 'invalid' || (typeof max?.value === 'number' && (max.value < LIMITS.maxInstances.min || max.value > LIMITS.maxInstances.max))) {
      out.push({ field: af(max?.key ?? KEYS.maxScale), description: `max instances (--max-instances) must be a whole number from ${LIMITS.maxInstances.min} to ${LIMITS.maxInstances.max}` });
    }
    const minN = typeof min?.value === 'number' ? min.value : 0;
    const maxN = typeof max?.value === 'number' ? max.value : 100;
    if (minN > maxN) out.push({ field: af(min?.key ?? KEYS.minScale), description: `min instances (${minN}) must not exceed max instances (${maxN})` });
    const throttle = annotations[KEYS.cpuThrottling];
    if (throttle !== undefined && throttle !== 'true' && throttle !== 'false') out.push({ field: af(KEYS.cpuThrottling), description: 'must be "true" or "false"' });
    const rt = annotations[KEYS.runtime];
    if (rt !== undefined && !['process', 'runc', 'docker'].includes(rt)) out.push({ field: af(KEYS.runtime), description: 'must be process, runc or docker' });
    const net = annotations[KEYS.network];
    if (net !== undefined && net !== 'isolated' && net !== 'host') out.push({ field: af(KEYS.network), description: 'must be isolated or host' });
  }
  validateTraffic(s.spec?.traffic, out);
  return out;
}
