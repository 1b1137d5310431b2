/** `kumo billing report` and `kumo run services metrics NAME`. */
import type { BillingReport } from '../../serving/billing/index.js';
import type { MetricQueryResult } from '../../observability/metrics/index.js';
import { KumoError } from '../../shared/errors.js';
import { str } from '../flags.js';
import { render, table } from '../output.js';
import type { Ctx } from './context.js';

const money = (n: number) => `$${n.toFixed(6)}`;
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

export async function billingReportCmd(ctx: Ctx): Promise<number> {
  const q = new URLSearchParams();
  for (const k of ['service', 'since', 'until']) {
    const v = str(ctx.args, k);
    if (v !== undefined) q.set(k, v);
  }
  const r = await ctx.client().call<BillingReport>('GET', `/api/billing/report?${q.toString()}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    ctx.out(render(r, ctx.format));
    return 0;
  }
  ctx.out(`Usage from ${new Date(r.sinceMs).toISOString()} to ${new Date(r.untilMs).toISOString()} (${r.currency}, Cloud Run tier-1 prices)\n\n`);
  ctx.out(
    table(
      ['SERVICE', 'REVISION', 'BILLING', 'BILLABLE S', 'VCPU-S', 'GIB-S', 'REQUESTS', 'COST', 'AFTER FREE TIER'],
      r.revisions.map((l) => [l.service, l.revision, l.mode, num(l.billableSeconds), num(l.vcpuSeconds), num(l.gibSeconds), String(l.requests), money(l.cost), money(l.costAfterFreeTier)]),
    ),
  );
  const t = r.total;
  ctx.out(`\nTotal: ${num(t.vcpuSeconds)} vCPU-s, ${num(t.gibSeconds)} GiB-s, ${t.requests} requests: ${money(t.cost)} (${money(t.costAfterFreeTier)} after the monthly free tier)\n`);
  return 0;
}

export async function metricsCmd(ctx: Ctx): Promise<number> {
  const name = ctx.args.positionals[0];
  if (!name) throw new KumoError('INVALID_ARGUMENT', 'usage: kumo run services metrics NAME [--metric request_count] [--since 1h] [--step 1m]');
  const q = new URLSearchParams();
  for (const k of ['metric', 'since', 'until', 'step', 'revision']) {
    const v = str(ctx.args, k);
    if (v !== undefined) q.set(k, v);
  }
  const r = await ctx.client().call<MetricQueryResult>('GET', `/api/services/${name}/metrics?${q.toString()}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    ctx.out(render(r, ctx.format));
    return 0;
  }
  ctx.out(`${r.metric} (${r.kind}, ${r.unit}), every ${r.stepMs / 1000} s\n`);
  for (const s of r.series) {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' ');
    if (labels) ctx.out(`${labels}\n`);
    const rows = s.points.map((p) => [
      new Date(p.startMs).toISOString(),
      Object.entries(p)
        .filter(([k, v]) => k !== 'startMs' && k !== 'endMs' && typeof v === 'number')
        .map(([k, v]) => `${k}=${num(v as number)}`)
        .join(' '),
    ]);
    ctx.out(table(['TIME', 'VALUES'], rows));
  }
  return 0;
}
