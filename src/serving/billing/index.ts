/** The billing room's public surface: the meter (pure), prices, the store and the report. */
export { BILLING_UNIT_MS, BillingMeter, CPU_THROTTLING_KEY, InstanceMeter, resolveBillingMode } from './meter.js';
export type { BillingMode, InstanceBillingInfo, UsageRecord } from './meter.js';
export { CLOUD_RUN_TIER1_PRICING, costOf, freeTierCover, parsePricingTable, pricesFor } from './pricing.js';
export type { FreeTier, PricingTable, UnitPrices, UsageTotals } from './pricing.js';
export { readPricingFile } from './pricing.file.js';
export { BILLING_MIGRATIONS, BillingStore, monthOf, monthStartMs } from './billing.store.js';
export type { DailyUsage, UsageAggregate } from './billing.store.js';
export { billingReport, buildBillingReport, dailyLines, validateReportQuery } from './report.js';
export type {
  BillingReport,
  BillingDayLine,
  BillingReportQuery,
  BillingRevisionLine,
  BillingServiceLine,
  BillingUsage,
  FreeTierUse,
} from './report.js';
