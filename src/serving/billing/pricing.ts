/**
 * Prices and the monthly free tier, Cloud Run tier 1 by default (reference cloudrun_knative.md
 * §1.23, https://cloud.google.com/run/pricing). Request-based figures are verified there; the
 * instance-based memory price and free tier are the commonly cited ones, marked unverified in
 * the reference, so a config file can override any figure.
 */
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { BillingMode } from './meter.js';

export interface UnitPrices {
  vcpuSecond: number;
  gibSecond: number;
  perMillionRequests: number;
}

/** Free each calendar month (UTC), per billing account. */
export interface FreeTier {
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
}

export interface PricingTable {
  currency: string;
  request: { prices: UnitPrices; freeTier: FreeTier };
  instance: { prices: UnitPrices; freeTier: FreeTier };
}

export const CLOUD_RUN_TIER1_PRICING: Readonly<PricingTable> = Object.freeze({
  currency: 'USD',
  request: {
    prices: { vcpuSecond: 0.000024, gibSecond: 0.0000025, perMillionRequests: 0.4 },
    freeTier: { vcpuSeconds: 180_000, gibSeconds: 360_000, requests: 2_000_000 },
  },
  instance: {
    prices: { vcpuSecond: 0.000018, gibSecond: 0.000002, perMillionRequests: 0 },
    freeTier: { vcpuSeconds: 240_000, gibSeconds: 450_000, requests: 0 },
  },
});

export interface UsageTotals {
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
}

export function costOf(usage: UsageTotals, prices: UnitPrices): number {
  return (
    usage.vcpuSeconds * prices.vcpuSecond +
    usage.gibSeconds * prices.gibSecond +
    (usage.requests / 1_000_000) * prices.perMillionRequests
  );
}

/** What the free tier covers of `inRange`, given what the same month used before it. */
export function freeTierCover(usedBefore: UsageTotals, inRange: UsageTotals, free: FreeTier): UsageTotals {
  const cover = (before: number, now: number, allowance: number): number =>
    Math.min(now, Math.max(0, allowance - before));
  return {
    vcpuSeconds: cover(usedBefore.vcpuSeconds, inRange.vcpuSeconds, free.vcpuSeconds),
    gibSeconds: cover(usedBefore.gibSeconds, inRange.gibSeconds, free.gibSeconds),
    requests: cover(usedBefore.requests, inRange.requests, free.requests),
  };
}

export function pricesFor(table: PricingTable, mode: BillingMode): { prices: UnitPrices; freeTier: FreeTier } {
  return mode === 'instance' ? table.instance : table.request;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A pricing config (JSON), any subset of the table's fields, over the defaults. Throws
 * INVALID_ARGUMENT naming every bad field, e.g. `pricing.request.prices.vcpuSecond`.
 */
export function parsePricingTable(input: unknown, base: PricingTable = CLOUD_RUN_TIER1_PRICING): PricingTable {
  const violations: FieldViolation[] = [];
  const out = structuredClone<PricingTable>(base);
  if (!isRecord(input)) throw invalidArgument([{ field: 'pricing', description: 'must be a JSON object' }]);
  for (const key of Object.keys(input)) {
    if (!['currency', 'request', 'instance'].includes(key)) {
      violations.push({ field: `pricing.${key}`, description: 'is not a pricing field; use currency, request or instance' });
    }
  }
  if (input.currency !== undefined) {
    if (typeof input.currency === 'string' && /^[A-Z]{3}$/.test(input.currency)) out.currency = input.currency;
    else violations.push({ field: 'pricing.currency', description: 'must be a three-letter currency code such as "USD"' });
  }
  for (const mode of ['request', 'instance'] as const) {
    const m = input[mode];
    if (m === undefined) continue;
    if (!isRecord(m)) {
      violations.push({ field: `pricing.${mode}`, description: 'must be an object with prices and/or freeTier' });
      continue;
    }
    for (const part of ['prices', 'freeTier'] as const) {
      const p = m[part];
      if (p === undefined) continue;
      if (!isRecord(p)) {
        violations.push({ field: `pricing.${mode}.${part}`, description: 'must be an object' });
        continue;
      }
      const target = out[mode][part] as unknown as Record<string, number>;
      for (const [k, v] of Object.entries(p)) {
        const field = `pricing.${mode}.${part}.${k}`;
        if (!(k in target)) {
          violations.push({ field, description: `is not a field; expected one of ${Object.keys(target).join(', ')}` });
        } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          violations.push({ field, description: `is ${JSON.stringify(v)}; must be a number >= 0` });
        } else {
          target[k] = v;
        }
      }
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);
  return out;
}
