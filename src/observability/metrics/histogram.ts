/**
 * Fixed-bucket histograms for latencies (milliseconds). Bounds grow by roughly 1.5× from 1 ms
 * to an hour (Cloud Run's longest request), so a percentile read from them is within one
 * bucket's width; the last bucket is +Inf. Counts are plain Float64Arrays: recording is a
 * binary search and an increment, with no allocation.
 */

export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000,
  7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 3_600_000,
]);

/** Number of buckets including the +Inf one. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** Index of the first bucket whose upper bound is >= value (Prometheus `le` semantics). */
export function bucketIndex(value: number, bounds: readonly number[] = LATENCY_BOUNDS_MS): number {
  let lo = 0;
  let hi = bounds.length; // bounds.length is the +Inf bucket
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= (bounds[mid] ?? Infinity)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The q-quantile (0..1) of a histogram, interpolating linearly inside the bucket (as
 * Prometheus' histogram_quantile does); `max` caps the answer in the open-ended last bucket.
 */
export function quantile(counts: ArrayLike<number>, q: number, max: number, bounds: readonly number[] = LATENCY_BOUNDS_MS): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = Math.min(bounds[i] ?? max, max);
      if (upper <= lower) return Math.min(lower, max);
      return lower + ((upper - lower) * (rank - seen)) / c;
    }
    seen += c;
  }
  return Math.min(bounds[bounds.length - 1] ?? max, max);
}

/** `a += b`, element-wise. */
export function mergeCounts(into: number[] | Float64Array, from: ArrayLike<number>): void {
  for (let i = 0; i < from.length && i < into.length; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

/** Bucket counts as stored: comma-separated, trailing zeros dropped. */
export function encodeCounts(counts: ArrayLike<number>): string {
  let end = counts.length;
  while (end > 0 && (counts[end - 1] ?? 0) === 0) end--;
  let s = '';
  for (let i = 0; i < end; i++) s += (i > 0 ? ',' : '') + String(counts[i] ?? 0);
  return s;
}

export function decodeCounts(text: string | null | undefined, length = LATENCY_BUCKETS): number[] {
  const out = new Array<number>(length).fill(0);
  if (!text) return out;
  const parts = text.split(',');
  for (let i = 0; i < parts.length && i < length; i++) out[i] = Number(parts[i]) || 0;
  return out;
}
