/**
 * Traffic: resolving `spec.traffic` against the revisions that exist, and picking a revision for
 * a request. Pure; randomness is an argument.
 */
import type { TrafficTarget } from './service.types.js';

export interface ResolvedTarget {
  revisionName: string;
  percent: number;
  tag?: string;
  latestRevision: boolean;
}

/**
 * Turn the spec's targets into concrete revisions. `latestRevision: true` means the latest
 * Ready revision; when there is none yet, that target resolves to nothing.
 */
export function resolveTraffic(spec: TrafficTarget[], latestReady: string | undefined): ResolvedTarget[] {
  const targets = spec.length > 0 ? spec : [{ latestRevision: true, percent: 100 }];
  const out: ResolvedTarget[] = [];
  for (const t of targets) {
    const name = t.latestRevision ? latestReady : t.revisionName;
    if (!name) continue;
    out.push({ revisionName: name, percent: t.percent ?? 0, latestRevision: t.latestRevision === true, ...(t.tag ? { tag: t.tag } : {}) });
  }
  return out;
}

/** Pick the revision for one request, weighted by percent. `r` is uniform in [0, 1). */
export function pickRevision(targets: readonly ResolvedTarget[], r: number): string | undefined {
  let total = 0;
  for (const t of targets) total += t.percent;
  if (total <= 0) return undefined;
  let x = r * total;
  for (const t of targets) {
    if (t.percent <= 0) continue;
    if (x < t.percent) return t.revisionName;
    x -= t.percent;
  }
  return targets.findLast((t) => t.percent > 0)?.revisionName;
}

/** The revision behind a tag, for `TAG---SERVICE.localhost`. */
export function revisionForTag(targets: readonly ResolvedTarget[], tag: string): string | undefined {
  return targets.find((t) => t.tag === tag)?.revisionName;
}
