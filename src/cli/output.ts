/** Output in gcloud's shapes: a readable table by default, `--format json|yaml` everywhere. */
import { stringify } from 'yaml';
import { KumoError } from '../shared/errors.js';

export type Format = 'table' | 'json' | 'yaml' | 'value';

export function parseFormat(v: string | undefined): Format {
  if (v === undefined || v === 'default') return 'table';
  if (v === 'json' || v === 'yaml' || v === 'table' || v === 'value') return v;
  if (v === 'export') return 'yaml';
  throw new KumoError('INVALID_ARGUMENT', `--format must be json, yaml, table or value; got "${v}"`, { field: '--format' });
}

export function render(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}

export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return 'Listed 0 items.\n';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
