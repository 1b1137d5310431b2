/**
 * `kumo billing report`: usage and cost per service and revision over a time range, with
 * Cloud Run's monthly free tier applied at the account level (all services share it; the
 * credit is split across rows in proportion to their use). Pure `buildBillingReport`, plus
 * `billingReport` which reads the store.
 */
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { BillingStore, DailyUsage, UsageAggregate } from './billing.store.js';
import { monthStartMs } from './billing.store.js';
import type { BillingMode } from './meter.js';
import { CLOUD_RUN_TIER1_PRICING, costOf, freeTierCover, pricesFor } from './pricing.js';
import type { PricingTable, UsageTotals } from './pricing.js';

export interface BillingReportQuery {
  service?: string;
  sinceMs: number;
  untilMs: number;
}

export interface BillingUsage {
  billableSeconds: number;
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
  cost: number;
  freeTierCredit: number;
  costAfterFreeTier: number;
}

export interface BillingRevisionLine extends BillingUsage {
  service: string;
  revision: string;
  mode: BillingMode;
}

export interface BillingServiceLine extends BillingUsage {
  service: string;
}

export interface FreeTierUse {
  month: string;
  mode: BillingMode;
  /** Account-wide use in the month up to the end of the range, and the allowance. */
  used: UsageTotals;
  allowance: UsageTotals;
}

/** One service's use on one UTC day, at list price (the free tier applies per month, in `freeTier`). */
export interface BillingDayLine {
  day: string;
  service: string;
  billableSeconds: number;
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
  cost: number;
}

export interface BillingReport {
  currency: string;
  sinceMs: number;
  untilMs: number;
  service?: string;
  revisions: BillingRevisionLine[];
  services: BillingServiceLine[];
  total: BillingUsage;
  freeTier: FreeTierUse[];
  /** Use and list-price cost by day and service (for a chart); days with no use are left out. */
  days: BillingDayLine[];
}

function emptyUsage(): BillingUsage {
  return { billableSeconds: 0, vcpuSeconds: 0, gibSeconds: 0, requests: 0, cost: 0, freeTierCredit: 0, costAfterFreeTier: 0 };
}

function add(into: BillingUsage, u: BillingUsage): void {
  into.billableSeconds += u.billableSeconds;
  into.vcpuSeconds += u.vcpuSeconds;
  into.gibSeconds += u.gibSeconds;
  into.requests += u.requests;
  into.cost += u.cost;
  into.freeTierCredit += u.freeTierCredit;
  into.costAfterFreeTier += u.costAfterFreeTier;
}

const share = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

export function validateReportQuery(q: BillingReportQuery): void {
  const v: FieldViolation[] = [];
  if (!Number.isFinite(q.sinceMs)) v.push({ field: 'since', description: 'must be a time, e.g. 2025-01-01T00:00:00Z or 7d' });
  if (!Number.isFinite(q.untilMs)) v.push({ field: 'until', description: 'must be a time, e.g. 2025-02-01T00:00:00Z' });
  if (Number.isFinite(q.sinceMs) && Number.isFinite(q.untilMs) && q.sinceMs >= q.untilMs) {
    v.push({ field: 'since', description: 'must be before --until' });
  }
  if (q.service !== undefined && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(q.service)) {
    v.push({ field: 'service', description: `"${q.service}" is not a service name (lowercase letters, digits and dashes, up to 63)` });
  }
  if (v.length > 0) throw invalidArgument(v);
}

/**
 * `inRange`: every service's usage inside the range (grouped by month); `beforeInFirstMonth`:
 * every service's usage in the range's first month before it starts (it eats free tier first).
 */
export function buildBillingReport(
  query: BillingReportQuery,
  inRange: readonly UsageAggregate[],
  beforeInFirstMonth: readonly UsageAggregate[],
  pricing: PricingTable,
): BillingReport {
  const groups = new Map<string, UsageAggregate[]>();
  for (const a of inRange) {
    const key = `${a.month}/${a.mode}`;
    const g = groups.get(key) ?? [];
    g.push(a);
    groups.set(key, g);
  }
  const sum = (rows: readonly UsageAggregate[]): UsageTotals =>
    rows.reduce(
      (t, r) => ({ vcpuSeconds: t.vcpuSeconds + r.vcpuSeconds, gibSeconds: t.gibSeconds + r.gibSeconds, requests: t.requests + r.requests }),
      { vcpuSeconds: 0, gibSeconds: 0, requests: 0 },
    );

  const lines = new Map<string, BillingRevisionLine>();
  const freeTier: FreeTierUse[] = [];
  for (const rows of groups.values()) {
    const first = rows[0];
    if (!first) continue;
    const { month, mode } = first;
    const { prices, freeTier: allowance } = pricesFor(pricing, mode);
    const before = sum(beforeInFirstMonth.filter((b) => b.month === month && b.mode === mode));
    const total = sum(rows);
    const cover = freeTierCover(before, total, allowance);
    freeTier.push({
      month,
      mode,
      used: {
        vcpuSeconds: before.vcpuSeconds + total.vcpuSeconds,
        gibSeconds: before.gibSeconds + total.gibSeconds,
        requests: before.requests + total.requests,
      },
      allowance: { ...allowance },
    });
    for (const r of rows) {
      if (query.service !== undefined && r.service !== query.service) continue;
      const cost = costOf(r, prices);
      const credit =
        share(r.vcpuSeconds, total.vcpuSeconds) * cover.vcpuSeconds * prices.vcpuSecond +
        share(r.gibSeconds, total.gibSeconds) * cover.gibSeconds * prices.gibSecond +
        (share(r.requests, total.requests) * cover.requests * prices.perMillionRequests) / 1_000_000;
      const key = `${r.service}\u0000${r.revision}\u0000${mode}`;
      const line = lines.get(key) ?? { service: r.service, revision: r.revision, mode, ...emptyUsage() };
      add(line, {
        billableSeconds: r.billableMs / 1000,
        vcpuSeconds: r.vcpuSeconds,
        gibSeconds: r.gibSeconds,
        requests: r.requests,
        cost,
        freeTierCredit: credit,
        costAfterFreeTier: Math.max(0, cost - credit),
      });
      lines.set(key, line);
    }
  }

  const revisions = [...lines.values()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.revision.localeCompare(b.revision) || a.mode.localeCompare(b.mode),
  );
  const services = new Map<string, BillingServiceLine>();
  const total = emptyUsage();
  for (const l of revisions) {
    const s = services.get(l.service) ?? { service: l.service, ...emptyUsage() };
    add(s, l);
    services.set(l.service, s);
    add(total, l);
  }
  freeTier.sort((a, b) => a.month.localeCompare(b.month) || a.mode.localeCompare(b.mode));
  return {
    currency: pricing.currency,
    sinceMs: query.sinceMs,
    untilMs: query.untilMs,
    ...(query.service !== undefined ? { service: query.service } : {}),
    revisions,
    services: [...services.values()],
    total,
    freeTier,
    days: [],
  };
}

/** Days summed over billing modes, priced at list price. Pure. */
export function dailyLines(rows: readonly DailyUsage[], pricing: PricingTable, service?: string): BillingDayLine[] {
  const out = new Map<string, BillingDayLine>();
  for (const r of rows) {
    if (service !== undefined && r.service !== service) continue;
    const key = `${r.day}\u0000${r.service}`;
    const line = out.get(key) ?? { day: r.day, service: r.service, billableSeconds: 0, vcpuSeconds: 0, gibSeconds: 0, requests: 0, cost: 0 };
    line.billableSeconds += r.billableMs / 1000;
    line.vcpuSeconds += r.vcpuSeconds;
    line.gibSeconds += r.gibSeconds;
    line.requests += r.requests;
    line.cost += costOf(r, pricesFor(pricing, r.mode).prices);
    out.set(key, line);
  }
  return [...out.values()].sort((a, b) => a.day.localeCompare(b.day) || a.service.localeCompare(b.service));
}

/** The report from stored usage; throws INVALID_ARGUMENT for a bad query. */
export function billingReport(
  store: BillingStore,
  query: BillingReportQuery,
  pricing: PricingTable = CLOUD_RUN_TIER1_PRICING,
): BillingReport {
  validateReportQuery(query);
  const inRange = store.aggregate(query.sinceMs, query.untilMs);
  const before = store.aggregate(monthStartMs(query.sinceMs), query.sinceMs);
  return { ...buildBillingReport(query, inRange, before, pricing), days: dailyLines(store.daily(query.sinceMs, query.untilMs), pricing, query.service) };
}
