/** Billing: usage and cost by service and by day, the free tier used, a chart. Priced like Cloud Run. */
import type { JSX } from 'preact';
import { ErrorBox, Loading, useData, useLive } from '../components/ui.js';
import { get } from '../lib/api.js';
import { money, num, percent } from '../lib/format.js';
import type { Loc } from '../lib/router.js';
import { navigate, withQuery } from '../lib/router.js';
import type { PageProps } from '../nav.js';

interface Usage {
  billableSeconds: number;
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
  cost: number;
  freeTierCredit: number;
  costAfterFreeTier: number;
}
interface Totals {
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
}
interface Report {
  currency: string;
  sinceMs: number;
  untilMs: number;
  services: (Usage & { service: string })[];
  total: Usage;
  freeTier: { month: string; mode: string; used: Totals; allowance: Totals }[];
  days: { day: string; service: string; cost: number; requests: number; vcpuSeconds: number }[];
}

const RANGES = [
  { id: 'month', label: 'This month' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
];

function DayChart({ report }: { report: Report }): JSX.Element {
  // Every day of the range, empty ones too.
  const byDay = new Map<string, number>();
  for (let t = Math.floor(report.sinceMs / 86_400_000) * 86_400_000; t < report.untilMs; t += 86_400_000) byDay.set(new Date(t).toISOString().slice(0, 10), 0);
  for (const d of report.days) byDay.set(d.day, (byDay.get(d.day) ?? 0) + d.cost);
  const days = [...byDay.entries()];
  const max = Math.max(1e-12, ...days.map(([, v]) => v));
  if (report.days.length === 0) return <p class="muted">No use in this range yet.</p>;
  return (
    <figure class="chart" aria-labelledby="days-title">
      <h3 id="days-title">Cost by day (list price, before the free tier)</h3>
      <div class="bars" role="img" aria-label={days.map(([d, v]) => `${d}: ${money(v, report.currency)}`).join('; ')}>
        {days.map(([d, v]) => (
          <span key={d} title={`${d}: ${money(v, report.currency)}`} style={{ height: `${Math.max(1, (v / max) * 100)}%` }} />
        ))}
      </div>
      <p class="muted">
        {days[0]?.[0]} to {days[days.length - 1]?.[0]}
      </p>
    </figure>
  );
}

function since(range: string): string {
  return range === 'month' ? '' : `?since=${range}`;
}

function Ranges({ loc, range }: { loc: Loc; range: string }): JSX.Element {
  return (
    <div class="toolbar" role="group" aria-label="Range">
      {RANGES.map((r) => (
        <button type="button" key={r.id} aria-pressed={r.id === range} class={r.id === range ? 'primary' : ''} onClick={() => navigate(withQuery(loc, { range: r.id === 'month' ? undefined : r.id }), true)}>
          {r.label}
        </button>
      ))}
    </div>
  );
}

export function Page({ loc }: PageProps): JSX.Element {
  const range = loc.query.get('range') ?? 'month';
  const r = useData((signal) => get<Report>(`/api/billing/report${since(range)}`, signal), [range]);
  useLive((e) => e.type === 'tick' && r.reload(), 5000);
  const rep = r.data;
  return (
    <>
      <h1>Billing</h1>
      <Ranges loc={loc} range={range} />
      <ErrorBox error={r.error} title="Could not read usage" />
      {!rep && !r.error && <Loading what="usage" />}
      {rep && (
        <>
          <dl class="kv">
            <dt>Cost at list price</dt>
            <dd>{money(rep.total.cost, rep.currency)}</dd>
            <dt>Free tier credit</dt>
            <dd>{money(rep.total.freeTierCredit, rep.currency)}</dd>
            <dt>Cost after the free tier</dt>
            <dd>
              <strong>{money(rep.total.costAfterFreeTier, rep.currency)}</strong>
            </dd>
          </dl>
          <DayChart report={rep} />
          <h2>By service</h2>
          <table aria-label="Usage by service">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col" class="num">
                  Billable time (s)
                </th>
                <th scope="col" class="num">
                  vCPU-s
                </th>
                <th scope="col" class="num">
                  GiB-s
                </th>
                <th scope="col" class="num">
                  Requests
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col" class="num">
                  After free tier
                </th>
              </tr>
            </thead>
            <tbody>
              {rep.services.map((s) => (
                <tr key={s.service}>
                  <th scope="row">
                    <a href={`/services/${encodeURIComponent(s.service)}`}>{s.service}</a>
                  </th>
                  <td class="num">{num(s.billableSeconds)}</td>
                  <td class="num">{num(s.vcpuSeconds)}</td>
                  <td class="num">{num(s.gibSeconds)}</td>
                  <td class="num">{s.requests.toLocaleString('en-US')}</td>
                  <td class="num">{money(s.cost, rep.currency)}</td>
                  <td class="num">{money(s.costAfterFreeTier, rep.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Free tier</h2>
          {rep.freeTier.length === 0 && <p class="muted">No use this month yet.</p>}
          {rep.freeTier.map((f) => (
            <div key={`${f.month}-${f.mode}`}>
              <h3>
                {f.month}, {f.mode}-based billing
              </h3>
              <table aria-label={`Free tier ${f.month} ${f.mode}`}>
                <tbody>
                  {(['vcpuSeconds', 'gibSeconds', 'requests'] as const).map((k) => {
                    const share = f.allowance[k] > 0 ? Math.min(1, f.used[k] / f.allowance[k]) : 0;
                    return (
                      <tr key={k}>
                        <th scope="row">{k === 'vcpuSeconds' ? 'vCPU-seconds' : k === 'gibSeconds' ? 'GiB-seconds' : 'Requests'}</th>
                        <td class="num">
                          {num(f.used[k])} of {num(f.allowance[k])}
                        </td>
                        <td>
                          <div class="meter" role="img" aria-label={`${percent(share)} used`}>
                            <span style={{ width: `${share * 100}%` }} />
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ))}
        </>
      )}
    </>
  );
}
