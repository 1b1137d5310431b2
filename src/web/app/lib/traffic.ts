/** Traffic sliders: shares that always add up to 100, and the targets they become. Pure. */
import type { TrafficTarget } from '../../../serving/service.types.js';

export interface Share {
  revision: string;
  percent: number;
  tag?: string;
}

/**
 * Set one revision's share and take (or give) the difference from the others in proportion to
 * what they hold (evenly when they hold nothing), in whole percents, so the total stays 100.
 */
export function rebalance(shares: readonly Share[], index: number, value: number): Share[] {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  const out = shares.map((s) => ({ ...s }));
  const target = out[index];
  if (!target) return out;
  target.percent = v;
  const others = out.filter((_, i) => i !== index);
  if (others.length === 0) {
    target.percent = 100;
    return out;
  }
  const rest = 100 - v;
  const held = others.reduce((a, s) => a + s.percent, 0);
  const raw = others.map((s) => (held > 0 ? (s.percent / held) * rest : rest / others.length));
  const floors = raw.map(Math.floor);
  let left = rest - floors.reduce((a, b) => a + b, 0);
  // Largest remainders get the leftover points, earlier rows first on ties.
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    floors[i] = (floors[i] ?? 0) + 1;
    left--;
  }
  others.forEach((s, i) => (s.percent = floors[i] ?? 0));
  return out;
}

/** The shares a service serves now, one per revision (tags kept), from its status. */
export function sharesOf(status: readonly TrafficTarget[], revisions: readonly string[]): Share[] {
  const by = new Map<string, Share>();
  for (const r of revisions) by.set(r, { revision: r, percent: 0 });
  for (const t of status) {
    if (!t.revisionName) continue;
    const s = by.get(t.revisionName) ?? { revision: t.revisionName, percent: 0 };
    s.percent += t.percent ?? 0;
    if (t.tag) s.tag = t.tag;
    by.set(t.revisionName, s);
  }
  return [...by.values()];
}

/** The spec.traffic for shares: revisions with a share or a tag, pinned by name. */
export function targetsOf(shares: readonly Share[]): TrafficTarget[] {
  return shares
    .filter((s) => s.percent > 0 || s.tag)
    .map((s) => ({ revisionName: s.revision, percent: s.percent, ...(s.tag ? { tag: s.tag } : {}) }));
}
