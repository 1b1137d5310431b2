/**
 * Parsing of the units users type: durations (`30s`, `5m`, `250ms`), memory (`512Mi`, `1Gi`)
 * and CPU (`1`, `0.5`, `500m`). Each returns undefined for text it cannot read, so callers
 * can name the field in their own error.
 */

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `1.5m`, `250ms`, `2h`, or a bare number of seconds. Returns milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2] ?? 's';
  const factor = DURATION_UNITS_MS[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Kubernetes quantity for memory: `512Mi`, `1Gi`, `1G`, `536870912`. Returns bytes. */
export function parseMemoryBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|M|G|T|Ki|Mi|Gi|Ti)?\s*$/.exec(text);
  if (!m) return undefined;
  const factor = MEMORY_UNITS[m[2] ?? ''];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

/** Bytes as the Kubernetes quantity a user would have typed, `512Mi` or `1Gi`. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const f = MEMORY_UNITS[unit] ?? 1;
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return String(bytes);
}

/** CPU as a Kubernetes quantity: `1`, `0.5`, `500m`, `2`. Returns millicores. */
export function parseCpuMillis(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m)?\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  return m[2] === 'm' ? Math.round(value) : Math.round(value * 1000);
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}
