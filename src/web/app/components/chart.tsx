/** A time-series chart (uPlot on a canvas) with its own legend and a spoken summary. */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** Draw each point (series with gaps, where a lone point has no line). */
  dots?: boolean;
}

export interface ChartProps {
  id: string;
  title: string;
  /** Seconds since epoch, one per value. */
  x: number[];
  series: ChartSeries[];
  /** Formats a y value for the axis and the summary. */
  format: (v: number) => string;
  /** A click on the chart: the index of the nearest point. */
  onPick?: (index: number) => void;
}

const COLORS = ['#2f7fd8', '#d9822b', '#c23b4b', '#3a9d5d', '#8a63d2', '#6b7785'];

function summary(p: ChartProps): string {
  const parts = p.series.map((s) => {
    const vals = s.values.filter((v): v is number => v !== null);
    if (vals.length === 0) return `${s.label}: no data`;
    return `${s.label}: latest ${p.format(vals[vals.length - 1] ?? 0)}, peak ${p.format(Math.max(...vals))}`;
  });
  return `${p.title}. ${parts.join('; ')}.`;
}

export function Chart(p: ChartProps): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const pick = useRef(p.onPick);
  pick.current = p.onPick;
  const shape = p.series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = getComputedStyle(el).color;
    const grid = 'rgba(127,127,127,0.25)';
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        axes: [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => p.format(t)) }],
        series: [{}, ...p.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length] ?? '#888', width: 1.6, spanGaps: false, points: { show: s.dots === true, size: 4 } }))],
      },
      [p.x, ...p.series.map((s) => s.values)],
      el,
    );
    u.over.addEventListener('click', () => {
      const i = u.cursor.idx;
      if (i !== null && i !== undefined) pick.current?.(i);
    });
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // A new plot only when the series change; new values go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([p.x, ...p.series.map((s) => s.values)]);
  }, [p.x, p.series]);

  return (
    <figure class="chart" aria-labelledby={`${p.id}-title`} data-chart={p.id}>
      <h3 id={`${p.id}-title`}>{p.title}</h3>
      <div ref={box} role="img" aria-label={summary(p)} data-points={p.x.length} />
      <ul class="legend" aria-hidden="true">
        {p.series.map((s, i) => (
          <li key={s.label}>
            <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} /> {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
