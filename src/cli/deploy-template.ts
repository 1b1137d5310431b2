/**
 * `kumo run deploy` flags applied to a service's current template, as gcloud does it:
 * flags you give change the template; everything else carries over. Pure.
 */
import { KumoError } from '../shared/errors.js';
import { parseDurationMs } from '../shared/units.js';
import type { EnvVar, RevisionTemplate, ServiceInput, TrafficTarget, Service } from '../serving/service.types.js';
import { KEYS } from '../serving/service.types.js';

/** kn's annotation: a new value on every deploy makes a new revision even when nothing else changed. */
export const UPDATE_TIMESTAMP = 'client.knative.dev/updateTimestamp';

export interface DeployFlags {
  /** When this deploy happens (RFC 3339); every `kumo run deploy` creates a revision, as gcloud does. */
  deployedAt?: string;
  image?: string;
  /** Digest of the uploaded source snapshot. */
  sourceDigest?: string;
  command?: string[];
  args?: string[];
  port?: number;
  setEnv?: Record<string, string>;
  updateEnv?: Record<string, string>;
  removeEnv?: string[];
  clearEnv?: boolean;
  concurrency?: number;
  timeoutSeconds?: number;
  minInstances?: number;
  maxInstances?: number;
  cpu?: string;
  memory?: string;
  cpuThrottling?: boolean;
  runtime?: string;
  network?: string;
  revisionName?: string;
  tag?: string;
  noTraffic?: boolean;
  labels?: Record<string, string>;
  description?: string;
}

/** `A=1,B=2` pairs; values may contain `=`. */
export function parseEnvPairs(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new KumoError('INVALID_ARGUMENT', `--${flag} takes KEY=VALUE pairs separated by commas; "${item}" has no "="`, { field: `--${flag}` });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** `--timeout 300`, `--timeout 5m` → seconds. */
export function parseTimeoutSeconds(v: string): number {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms % 1000 !== 0 || ms < 1000 || ms > 3_600_000) {
    throw new KumoError('INVALID_ARGUMENT', `--timeout must be from 1 to 3600 seconds (300, 5m, 1h); got "${v}"`, { field: '--timeout' });
  }
  return ms / 1000;
}

export function buildDeployInput(name: string, current: Service | undefined, f: DeployFlags): ServiceInput {
  const base: RevisionTemplate = current ? structuredClone(current.spec.template) : { metadata: {}, spec: { containers: [{}] } };
  const annotations = { ...(base.metadata.annotations ?? {}) };
  const c = { ...(base.spec.containers[0] ?? {}) };
  delete base.metadata.name;

  if (f.image !== undefined) {
    c.image = f.image;
    delete annotations[KEYS.source];
  }
  if (f.sourceDigest !== undefined) {
    delete c.image;
    annotations[KEYS.source] = f.sourceDigest;
  }
  if (!c.image && !annotations[KEYS.source]) {
    throw new KumoError('INVALID_ARGUMENT', `service ${name} does not exist yet: give --source DIR or --image IMAGE`, { field: '--source' });
  }
  if (f.command !== undefined) {
    if (f.command.length === 0) delete c.command;
    else c.command = f.command;
  }
  if (f.args !== undefined) {
    if (f.args.length === 0) delete c.args;
    else c.args = f.args;
  }
  if (f.port !== undefined) c.ports = [{ name: 'http1', containerPort: f.port }];

  let env: EnvVar[] = f.clearEnv ? [] : [...(c.env ?? [])];
  if (f.setEnv) env = Object.entries(f.setEnv).map(([k, v]) => ({ name: k, value: v }));
  if (f.updateEnv) {
    for (const [k, v] of Object.entries(f.updateEnv)) {
      const i = env.findIndex((e) => e.name === k);
      if (i >= 0) env[i] = { name: k, value: v };
      else env.push({ name: k, value: v });
    }
  }
  if (f.removeEnv) env = env.filter((e) => !f.removeEnv?.includes(e.name));
  c.env = env;

  if (f.cpu !== undefined || f.memory !== undefined) {
    c.resources = {
      limits: { ...(c.resources?.limits ?? {}), ...(f.cpu !== undefined ? { cpu: f.cpu } : {}), ...(f.memory !== undefined ? { memory: f.memory } : {}) },
    };
  }
  const spec = { ...base.spec, containers: [c] };
  if (f.concurrency !== undefined) spec.containerConcurrency = f.concurrency;
  if (f.timeoutSeconds !== undefined) spec.timeoutSeconds = f.timeoutSeconds;
  if (f.minInstances !== undefined) {
    annotations[KEYS.minScale] = String(f.minInstances);
    delete annotations[KEYS.minScaleKebab];
  }
  if (f.maxInstances !== undefined) {
    annotations[KEYS.maxScale] = String(f.maxInstances);
    delete annotations[KEYS.maxScaleKebab];
  }
  if (f.cpuThrottling !== undefined) annotations[KEYS.cpuThrottling] = String(f.cpuThrottling);
  if (f.runtime !== undefined) annotations[KEYS.runtime] = f.runtime;
  if (f.deployedAt !== undefined) annotations[UPDATE_TIMESTAMP] = f.deployedAt;
  if (f.network !== undefined) annotations[KEYS.network] = f.network;

  const template: RevisionTemplate = {
    metadata: { ...base.metadata, annotations, ...(f.revisionName ? { name: f.revisionName } : {}) },
    spec,
  };

  let traffic: TrafficTarget[] | undefined = current?.spec.traffic;
  if (f.noTraffic) {
    if (!current) throw new KumoError('INVALID_ARGUMENT', '--no-traffic needs an existing service: the first revision always takes all traffic', { field: '--no-traffic' });
    // Pin what serves now to concrete revisions, so the new revision gets none.
    traffic = current.status.traffic
      .filter((t) => t.revisionName)
      .map((t) => ({ revisionName: t.revisionName, percent: t.percent ?? 0, ...(t.tag ? { tag: t.tag } : {}) }));
  }
  if (f.tag) {
    if (!f.revisionName) throw new KumoError('INTERNAL', 'a tagged deploy needs a revision name');
    traffic = [...(traffic ?? [{ latestRevision: true, percent: 100 }]).filter((t) => t.tag !== f.tag), { revisionName: f.revisionName, percent: 0, tag: f.tag }];
  }
  const labels = { ...(current?.metadata.labels ?? {}), ...(f.labels ?? {}) };
  delete labels[KEYS.location];
  const serviceAnnotations = { ...(current?.metadata.annotations ?? {}) };
  delete serviceAnnotations[KEYS.creator];
  delete serviceAnnotations[KEYS.lastModifier];
  if (f.description !== undefined) serviceAnnotations[KEYS.description] = f.description;
  return {
    metadata: { name, labels, annotations: serviceAnnotations, ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}) },
    spec: { template, ...(traffic ? { traffic } : {}) },
  };
}
