/**
 * Defaults applied to what a client sends, so stored objects say what will run (as Knative's
 * webhook does). Pure.
 */
import { DEFAULTS } from './revision.settings.js';
import type { RevisionTemplate } from './service.types.js';
import { KEYS } from './service.types.js';
import { parseCpuMillis } from '../shared/units.js';

export function defaultTemplate(t: RevisionTemplate): RevisionTemplate {
  const c = t.spec.containers[0] ?? {};
  const limits = { cpu: DEFAULTS.cpu, memory: DEFAULTS.memory, ...(c.resources?.limits ?? {}) };
  const cpuMillis = parseCpuMillis(limits.cpu) ?? 1000;
  const annotations = { ...(t.metadata.annotations ?? {}) };
  if (annotations[KEYS.maxScale] === undefined && annotations[KEYS.maxScaleKebab] === undefined) {
    annotations[KEYS.maxScale] = String(DEFAULTS.maxInstances);
  }
  return {
    metadata: {
      ...(t.metadata.name ? { name: t.metadata.name } : {}),
      labels: { ...(t.metadata.labels ?? {}) },
      annotations,
    },
    spec: {
      ...t.spec,
      containerConcurrency: t.spec.containerConcurrency || (cpuMillis < 1000 ? 1 : DEFAULTS.concurrency),
      timeoutSeconds: t.spec.timeoutSeconds ?? DEFAULTS.timeoutSeconds,
      containers: [
        {
          name: c.name ?? 'app',
          ...c,
          ports: c.ports && c.ports.length > 0 ? c.ports : [{ name: 'http1', containerPort: DEFAULTS.port }],
          env: c.env ?? [],
          resources: { ...(c.resources ?? {}), limits },
        },
      ],
    },
  };
}

/** Stable text of a template, to tell whether a change needs a new revision. */
export function templateFingerprint(t: RevisionTemplate): string {
  return canonicalJson({ ...t, metadata: { ...t.metadata, name: undefined } });
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
