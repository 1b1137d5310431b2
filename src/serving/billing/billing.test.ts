import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KumoError } from '../../shared/errors.js';
import { openDatabase } from '../../store/database.js';
import type { Database } from '../../store/database.js';
import { BillingStore } from './billing.store.js';
import type { BillingMode, UsageRecord } from './meter.js';
import { CLOUD_RUN_TIER1_PRICING, parsePricingTable } from './pricing.js';
import { readPricingFile } from './pricing.file.js';
import { billingReport } from './report.js';

const MAR_1 = Date.UTC(2025, 2, 1);
const MAR_10 = Date.UTC(2025, 2, 10);
const MAR_15 = Date.UTC(2025, 2, 15);
const MAR_20 = Date.UTC(2025, 2, 20);

function usage(service: string, at: number, u: Partial<UsageRecord> & { mode?: BillingMode }): UsageRecord {
  return {
    service,
    revision: `${service}-00001`,
    instanceId: `${service}-i`,
    mode: 'request',
    startMs: at - 10_000,
    endMs: at,
    billableMs: 0,
    vcpuSeconds: 0,
    gibSeconds: 0,
    requests: 0,
    ...u,
  };
}

describe('BillingStore and billingReport (real SQLite file)', () => {
  let dir: string;
  let db: Database;
  let store: BillingStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-billing-'));
    db = openDatabase(join(dir, 'kumo.db'));
    store = new BillingStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sums flushes into minute rows and survives reopening', () => {
    store.record([usage('a', MAR_10 + 5_000, { billableMs: 300, vcpuSeconds: 0.3, requests: 2 })]);
    store.record([usage('a', MAR_10 + 55_000, { billableMs: 200, vcpuSeconds: 0.2, requests: 1 })]);
    store.record([usage('a', MAR_10 + 65_000, { billableMs: 100, vcpuSeconds: 0.1, requests: 1 })]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM billing_usage').get() as { n: number }).n).toBe(2);
    db.close();
    db = openDatabase(join(dir, 'kumo.db'));
    store = new BillingStore(db);
    const [a] = store.aggregate(MAR_1, MAR_20);
    expect(a).toMatchObject({ service: 'a', month: '2025-03', billableMs: 600, requests: 4 });
    expect(a?.vcpuSeconds).toBeCloseTo(0.6);
    expect(store.prune(MAR_10 + 60_000)).toBe(1);
  });

  it('prices usage with the free tier left over from earlier in the month, shared across services', () => {
    // Before the range, service a used 179,000 vCPU-s and 1.5 M requests of March's free tier.
    store.record([usage('a', MAR_10 - 60_000, { vcpuSeconds: 179_000, requests: 1_500_000 })]);
    // In the range: a 3,000 vCPU-s, 10,000 GiB-s, 1 M requests; b 1,000 vCPU-s, 1 M requests;
    // c (instance-based) 100 vCPU-s.
    store.record([
      usage('a', MAR_15, { billableMs: 3_000_000, vcpuSeconds: 3000, gibSeconds: 10_000, requests: 1_000_000 }),
      usage('b', MAR_15, { billableMs: 1_000_000, vcpuSeconds: 1000, requests: 1_000_000 }),
      usage('c', MAR_15, { mode: 'instance', billableMs: 100_000, vcpuSeconds: 100 }),
    ]);
    const r = billingReport(store, { sinceMs: MAR_10, untilMs: MAR_20 });
    const a = r.revisions.find((l) => l.service === 'a');
    const b = r.revisions.find((l) => l.service === 'b');
    const c = r.revisions.find((l) => l.service === 'c');
    // a: 3000 × 0.000024 = 0.072; 10,000 × 0.0000025 = 0.025; 1 M × $0.40/M = 0.40 → 0.497.
    // Free left: 1,000 vCPU-s (a gets 3/4 = 750 → 0.018), all 10,000 GiB-s (0.025),
    // 500,000 requests (a gets half = 250,000 → 0.10). Credit 0.143, after 0.354.
    expect(a?.cost).toBeCloseTo(0.497, 9);
    expect(a?.freeTierCredit).toBeCloseTo(0.143, 9);
    expect(a?.costAfterFreeTier).toBeCloseTo(0.354, 9);
    // b: 0.024 + 0.40 = 0.424; credit 250 vCPU-s (0.006) + 250,000 requests (0.10) = 0.106 → 0.318.
    expect(b?.cost).toBeCloseTo(0.424, 9);
    expect(b?.costAfterFreeTier).toBeCloseTo(0.318, 9);
    // c: 100 × 0.000018 = 0.0018, wholly inside the instance-based free tier.
    expect(c?.cost).toBeCloseTo(0.0018, 9);
    expect(c?.costAfterFreeTier).toBeCloseTo(0, 9);
    expect(r.total.cost).toBeCloseTo(0.9228, 9);
    expect(r.total.costAfterFreeTier).toBeCloseTo(0.672, 9);
    expect(r.freeTier.find((f) => f.mode === 'request')?.used.vcpuSeconds).toBe(183_000);

    // Filtering by service keeps the account-wide free tier split.
    const onlyB = billingReport(store, { service: 'b', sinceMs: MAR_10, untilMs: MAR_20 });
    expect(onlyB.revisions).toHaveLength(1);
    expect(onlyB.total.freeTierCredit).toBeCloseTo(0.106, 9);
    expect(onlyB.services[0]).toMatchObject({ service: 'b', requests: 1_000_000 });

    // By day, at list price: the flushes ending at midnight on March 15 count in March 14's last minute.
    expect(r.days.map((d) => [d.day, d.service])).toEqual([
      ['2025-03-14', 'a'],
      ['2025-03-14', 'b'],
      ['2025-03-14', 'c'],
    ]);
    expect(r.days[0]?.cost).toBeCloseTo(0.497, 9);
    expect(r.days[2]?.cost).toBeCloseTo(0.0018, 9);
    expect(onlyB.days).toEqual([{ day: '2025-03-14', service: 'b', billableSeconds: 1000, vcpuSeconds: 1000, gibSeconds: 0, requests: 1_000_000, cost: expect.closeTo(0.424, 9) as number }]);
  });

  it('rejects a bad query with every field named', () => {
    try {
      billingReport(store, { service: 'Bad_Name', sinceMs: MAR_20, untilMs: MAR_10 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(KumoError);
      expect((err as KumoError).fields.violations?.map((v) => v.field)).toEqual(['since', 'service']);
    }
  });
});

describe('pricing table', () => {
  it('defaults to Cloud Run tier 1 and accepts a partial override file', () => {
    expect(CLOUD_RUN_TIER1_PRICING.request.prices.vcpuSecond).toBe(0.000024);
    const dir = mkdtempSync(join(tmpdir(), 'kumo-pricing-'));
    try {
      const file = join(dir, 'pricing.json');
      writeFileSync(file, JSON.stringify({ currency: 'EUR', request: { prices: { vcpuSecond: 0.00003 } } }));
      const t = readPricingFile(file);
      expect(t.currency).toBe('EUR');
      expect(t.request.prices.vcpuSecond).toBe(0.00003);
      expect(t.request.prices.gibSecond).toBe(0.0000025); // untouched
      expect(CLOUD_RUN_TIER1_PRICING.request.prices.vcpuSecond).toBe(0.000024); // defaults not mutated
      writeFileSync(file, '{not json');
      expect(() => readPricingFile(file)).toThrow(/not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every bad field', () => {
    try {
      parsePricingTable({ currency: 'dollars', request: { prices: { vcpuSecond: -1, cpu: 1 } }, extra: 1 });
      expect.unreachable();
    } catch (err) {
      expect((err as KumoError).fields.violations?.map((v) => v.field)).toEqual([
        'pricing.extra',
        'pricing.currency',
        'pricing.request.prices.vcpuSecond',
        'pricing.request.prices.cpu',
      ]);
    }
  });
});
