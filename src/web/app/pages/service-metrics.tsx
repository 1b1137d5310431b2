/** Cloud Run's charts for a service over 1 h … 30 d, refreshed as new points are stored; a click opens that moment's logs. */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import type { MetricQueryResult, MetricValue } from '../../../observability/metrics/query.types.js';
import { Chart } from '../components/chart.js';
import type { ChartSeries } from '../components/chart.js';
import { ErrorBox, useData, useLive } from '../components/ui.js';
import { enc, get } from '../lib/api.js';
import { num } from '../lib/format.js';
import type { Loc } from '../lib/router.js';
import { navigate, withQuery } from '../lib/router.js';

export const RANGES = [
  { id: '1h', label: '1 hour' },
  { id: '6h', label: '6 hours' },
  { id: '1d', label: '1 day' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
] as const;

interface ChartDef {
  id: string;
  metric: string;
  title: string;
  /** Which field of each point, and a series name for each label value (or the one series). */
  pick: (v: MetricValue) => number | undefined;
  series: (labels: Record<string, string>) => string;
  /** Several fields as series (latency percentiles). */
  fields?: { label: string; pick: (v: MetricValue) => number | undefined }[];
  format: (v: number) => string;
  /** Missing steps read as zero (counters, gauges written once at zero) or as gaps. */
  gapsAreZero: boolean;
}

const ms = (v: number) => (v >= 1000 ? `${num(v / 1000)} s` : `${num(v)} ms`);
const pct = (v: number) => `${num(v * 100)}%`;

const CHARTS: ChartDef[] = [
  { id: 'requests', metric: 'request_count', title: 'Requests per second, by response class', pick: (v) => v.rate, series: (l) => l.response_code_class ?? 'all', format: (v) => num(v), gapsAreZero: true },
  {
    id: 'latency',
    metric: 'request_latencies',
    title: 'Request latency',
    pick: (v) => v.p50,
    series: () => 'p50',
    fields: [
      { label: 'p50', pick: (v) => v.p50 },
      { label: 'p95', pick: (v) => v.p95 },
      { label: 'p99', pick: (v) => v.p99 },
    ],
    format: ms,
    gapsAreZero: false,
  },
  { id: 'instances', metric: 'container/instance_count', title: 'Instances, active and idle', pick: (v) => v.mean, series: (l) => l.state ?? 'all', format: (v) => num(v), gapsAreZero: true },
  { id: 'billable', metric: 'container/billable_instance_time', title: 'Billable instance time (seconds per second)', pick: (v) => v.rate, series: () => 'billable', format: (v) => num(v), gapsAreZero: true },
  { id: 'cpu', metric: 'container/cpu/utilizations', title: 'CPU utilization', pick: (v) => v.mean, series: () => 'CPU', format: pct, gapsAreZero: false },
  { id: 'memory', metric: 'container/memory/utilizations', title: 'Memory utilization', pick: (v) => v.mean, series: () => 'memory', format: pct, gapsAreZero: false },
  {
    id: 'startup',
    metric: 'container/startup_latencies',
    title: 'Container startup latency',
    pick: (v) => v.p50,
    series: () => 'p50',
    fields: [
      { label: 'p50', pick: (v) => v.p50 },
      { label: 'max', pick: (v) => v.max },
    ],
    format: ms,
    gapsAreZero: false,
  },
  { id: 'concurrency', metric: 'container/max_request_concurrencies', title: 'Most requests at once on one instance', pick: (v) => v.max, series: () => 'max', format: (v) => num(v), gapsAreZero: true },
];

/** Aligned x (seconds) and one value list per series, with every step of the range present. */
export function align(result: MetricQueryResult, def: ChartDef, sinceMs: number, untilMs: number): { x: number[]; series: ChartSeries[] } {
  const step = result.stepMs;
  const start = Math.floor(sinceMs / result.resolutionMs) * result.resolutionMs;
  const x: number[] = [];
  for (let t = start; t < untilMs; t += step) x.push(t / 1000);
  const index = (t: number) => Math.round((t - start) / step);
  const fill = () => x.map(() => (def.gapsAreZero ? 0 : null)) as (number | null)[];
  const out: ChartSeries[] = [];
  for (const s of result.series) {
    const parts = def.fields ?? [{ label: def.series(s.labels), pick: def.pick }];
    for (const f of parts) {
      const values = fill();
      for (const p of s.points) {
        const i = index(p.startMs);
        const v = f.pick(p);
        if (i >= 0 && i < values.length && v !== undefined) values[i] = v;
      }
      out.push({ label: def.fields ? f.label : def.series(s.labels), values, dots: !def.gapsAreZero });
    }
  }
  if (out.length === 0) for (const f of def.fields ?? [{ label: def.series({}), pick: def.pick }]) out.push({ label: f.label, values: fill() });
  return { x, series: out };
}

function rangeMs(id: string): number {
  const n = Number.parseInt(id, 10);
  return id.endsWith('d') ? n * 86_400_000 : n * 3_600_000;
}

function MetricChart({ name, def, range, onPick }: { name: string; def: ChartDef; range: string; onPick: (fromMs: number, toMs: number) => void }): JSX.Element {
  const data = useData(async (signal) => {
    const untilMs = Date.now();
    const r = await get<MetricQueryResult>(`/api/services/${enc(name)}/metrics?metric=${enc(def.metric)}&since=${range}`, signal);
    return { r, untilMs };
  }, [name, def.metric, range]);
  useLive((e) => {
    if (e.type === 'tick') data.reload();
  }, 900);
  const aligned = useMemo(() => (data.data ? align(data.data.r, def, data.data.untilMs - rangeMs(range), data.data.untilMs) : undefined), [data.data, def, range]);
  if (data.error) return <ErrorBox error={data.error} title={`${def.title}: could not load`} />;
  if (!aligned || !data.data) return <div class="chart muted">{def.title}: loading…</div>;
  const step = data.data.r.stepMs;
  return <Chart id={def.id} title={def.title} x={aligned.x} series={aligned.series} format={def.format} onPick={(i) => onPick((aligned.x[i] ?? 0) * 1000, (aligned.x[i] ?? 0) * 1000 + step)} />;
}

export function Metrics({ name, loc }: { name: string; loc: Loc }): JSX.Element {
  const range = loc.query.get('range') ?? '1h';
  const toLogs = (fromMs: number, toMs: number) => navigate(withQuery(loc, { tab: 'logs', since: new Date(fromMs).toISOString(), until: new Date(toMs).toISOString() }));
  return (
    <>
      <div class="toolbar" role="group" aria-label="Time range">
        {RANGES.map((r) => (
          <button type="button" key={r.id} aria-pressed={r.id === range} class={r.id === range ? 'primary' : ''} onClick={() => navigate(withQuery(loc, { range: r.id === '1h' ? undefined : r.id }), true)}>
            {r.label}
          </button>
        ))}
        <span class="muted">Click a chart to see the logs of that moment.</span>
      </div>
      <div class="charts">
        {CHARTS.map((c) => (
          <MetricChart key={`${c.id}-${range}`} name={name} def={c} range={range} onPick={toLogs} />
        ))}
      </div>
    </>
  );
}
