/**
 * The typed settings a revision runs with, read from its (defaulted, validated) template.
 * Pure: the dispatcher and runtimes use these numbers, never the raw strings.
 */
import { KumoError } from '../shared/errors.js';
import { parseCpuMillis, parseDurationMs, parseMemoryBytes } from '../shared/units.js';
import type { RevisionSpec, RevisionTemplate } from './service.types.js';
import { KEYS } from './service.types.js';

export const DEFAULTS = {
  concurrency: 80,
  timeoutSeconds: 300,
  port: 8080,
  cpu: '1',
  memory: '512Mi',
  maxInstances: 100,
  minInstances: 0,
} as const;

export const LIMITS = {
  timeoutSeconds: { min: 1, max: 3600 },
  concurrency: { min: 1, max: 1000 },
  maxInstances: { min: 1, max: 1000 },
  memoryBytes: { min: 128 * 1024 ** 2, max: 32 * 1024 ** 3 },
  cpuMillis: { min: 80, max: 8000 },
  port: { min: 1, max: 65535 },
  envVars: 1000,
  envValueBytes: 32768,
} as const;

export interface RevisionSettings {
  concurrency: number;
  timeoutMs: number;
  containerPort: number;
  cpuMillis: number;
  memoryBytes: number;
  minInstances: number;
  maxInstances: number;
  /** Request-based billing: CPU only while serving (Cloud Run's default). */
  cpuThrottling: boolean;
  image?: string;
  /** `sha256:…` of the pinned source snapshot, for source deploys. */
  sourceDigest?: string;
  command?: string[];
  args?: string[];
  env: Record<string, string>;
  runtime?: string;
  network?: 'isolated' | 'host';
  annotations: Record<string, string>;
}

function intAnnotation(annotations: Record<string, string>, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = annotations[k];
    if (v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim());
  }
  return undefined;
}

export function containerOf(spec: RevisionSpec) {
  const c = spec.containers[0];
  if (!c) throw new Error('revision has no container (validation should have refused it)');
  return c;
}

/** Settings of a validated template (unparseable values fall back to defaults; validation refuses them earlier). */
export function revisionSettings(template: RevisionTemplate): RevisionSettings {
  const annotations = template.metadata.annotations ?? {};
  const c = containerOf(template.spec);
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = e.value;
  const cpuMillis = parseCpuMillis(c.resources?.limits?.cpu ?? DEFAULTS.cpu) ?? 1000;
  const timeoutSeconds = template.spec.timeoutSeconds ?? DEFAULTS.timeoutSeconds;
  return {
    concurrency: template.spec.containerConcurrency || (cpuMillis < 1000 ? 1 : DEFAULTS.concurrency),
    timeoutMs: timeoutSeconds * 1000,
    containerPort: c.ports?.[0]?.containerPort ?? DEFAULTS.port,
    cpuMillis,
    memoryBytes: parseMemoryBytes(c.resources?.limits?.memory ?? DEFAULTS.memory) ?? 512 * 1024 ** 2,
    minInstances: intAnnotation(annotations, KEYS.minScale, KEYS.minScaleKebab) ?? DEFAULTS.minInstances,
    maxInstances: intAnnotation(annotations, KEYS.maxScale, KEYS.maxScaleKebab) ?? DEFAULTS.maxInstances,
    cpuThrottling: annotations[KEYS.cpuThrottling] !== 'false',
    ...(c.image ? { image: c.image } : {}),
    ...(annotations[KEYS.source] ? { sourceDigest: annotations[KEYS.source] } : {}),
    ...(c.command?.length ? { command: c.command } : {}),
    ...(c.args?.length ? { args: c.args } : {}),
    env,
    ...(annotations[KEYS.runtime] ? { runtime: annotations[KEYS.runtime] } : {}),
    ...(annotations[KEYS.network] === 'host' || annotations[KEYS.network] === 'isolated'
      ? { network: annotations[KEYS.network] as 'isolated' | 'host' }
      : {}),
    annotations,
  };
}

/** Parse helper shared with validation: a duration annotation such as `autoscaling.knative.dev/window: 60s`. */
export function durationAnnotationMs(annotations: Record<string, string>, key: string): number | undefined {
  const v = annotations[key];
  return v === undefined ? undefined : parseDurationMs(v);
}

/**
 * Host networking is a server's choice, never a caller's: a revision that asks for it
 * (`kumo.dev/network: host`) on a server started without `--allow-host-network` is refused
 * (by every API, and by the dispatcher for revisions stored before). Pure.
 */
export function hostNetworkRefusal(settings: Pick<RevisionSettings, 'network'>, allowed: boolean, service: string): KumoError | undefined {
  if (settings.network !== 'host' || allowed) return undefined;
  return new KumoError(
    'FAILED_PRECONDITION',
    `service ${service} asks for the host's network (${KEYS.network}: host, or --network host), which this kumo server does not allow: an instance on the host's network reaches everything on this machine; start the server with --allow-host-network to permit it, or remove the annotation`,
    { service, field: `spec.template.metadata.annotations["${KEYS.network}"]` },
  );
}
