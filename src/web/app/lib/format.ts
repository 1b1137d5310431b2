/** How numbers, times, sizes and states read on the page. Pure. */
import type { Condition } from '../../../serving/service.types.js';

export function ago(iso: string | undefined, nowMs: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i] ?? ''}`;
}

/** 0.0123 → "0.012", 12.345 → "12.3", 1234 → "1,234". */
export function num(v: number | undefined, unit = ''): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (Number.isInteger(v)) return `${v.toLocaleString('en-US')}${unit}`;
  const s = a === 0 ? '0' : a < 0.01 ? v.toExponential(1) : a < 1 ? v.toFixed(3) : a < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US');
  return `${s}${unit}`;
}

export function money(v: number, currency: string): string {
  const tiny = v !== 0 && Math.abs(v) < 0.01;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, ...(tiny ? { maximumSignificantDigits: 3 } : { maximumFractionDigits: 2 }) }).format(v);
}

export function percent(f: number): string {
  return `${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;
}

export function dateTime(ms: number): string {
  return new Date(ms).toLocaleString('en-GB', { hour12: false });
}

export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export type ReadyState = 'ready' | 'failed' | 'pending';

export function readyState(conditions: readonly Condition[] | undefined): ReadyState {
  const s = conditions?.find((c) => c.type === 'Ready')?.status;
  return s === 'True' ? 'ready' : s === 'False' ? 'failed' : 'pending';
}

/** A failed or pending condition in words: "ContainerHealthy: the container exited (…)". */
export function conditionWords(c: Condition): string {
  return [c.reason, c.message].filter(Boolean).join(': ') || (c.status === 'True' ? 'ok' : c.status === 'False' ? 'failed' : 'in progress');
}

export function shortDigest(d: string | undefined): string {
  if (!d) return '';
  const at = d.lastIndexOf('@');
  const digest = at >= 0 ? d.slice(at + 1) : d;
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
