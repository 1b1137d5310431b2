/**
 * Usage records in SQLite, summed into one row per (service, revision, mode, minute). The meter
 * batches in memory; `record` writes a whole flush in one transaction, so no request ever waits
 * on the disk. Reports are accurate to the minute.
 */
import type { Database, Migration } from '../../store/database.js';
import { migrate } from '../../store/database.js';
import type { BillingMode, UsageRecord } from './meter.js';

export const BILLING_MIGRATIONS: readonly Migration[] = [
  {
    id: 'billing-001-usage',
    sql: `CREATE TABLE billing_usage (
      service TEXT NOT NULL,
      revision TEXT NOT NULL,
      mode TEXT NOT NULL CHECK (mode IN ('request', 'instance')),
      minute_ms INTEGER NOT NULL,
      billable_ms INTEGER NOT NULL,
      vcpu_seconds REAL NOT NULL,
      gib_seconds REAL NOT NULL,
      requests INTEGER NOT NULL,
      PRIMARY KEY (service, revision, mode, minute_ms)
    ) WITHOUT ROWID;
    CREATE INDEX billing_usage_minute ON billing_usage (minute_ms);`,
  },
];

const MINUTE_MS = 60_000;

export interface UsageAggregate {
  service: string;
  revision: string;
  mode: BillingMode;
  /** Calendar month (UTC) as `YYYY-MM`. */
  month: string;
  billableMs: number;
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
}

const DAY_MS = 86_400_000;

export interface DailyUsage {
  service: string;
  mode: BillingMode;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  billableMs: number;
  vcpuSeconds: number;
  gibSeconds: number;
  requests: number;
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function monthStartMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export class BillingStore {
  private readonly upsert;
  private readonly selectRange;

  constructor(private readonly db: Database) {
    migrate(db, BILLING_MIGRATIONS);
    this.upsert = db.prepare(
      `INSERT INTO billing_usage (service, revision, mode, minute_ms, billable_ms, vcpu_seconds, gib_seconds, requests)
       VALUES (@service, @revision, @mode, @minute, @billableMs, @vcpuSeconds, @gibSeconds, @requests)
       ON CONFLICT (service, revision, mode, minute_ms) DO UPDATE SET
         billable_ms = billable_ms + excluded.billable_ms,
         vcpu_seconds = vcpu_seconds + excluded.vcpu_seconds,
         gib_seconds = gib_seconds + excluded.gib_seconds,
         requests = requests + excluded.requests`,
    );
    this.selectRange = db.prepare(
      `SELECT service, revision, mode, minute_ms AS minute, billable_ms AS billableMs,
              vcpu_seconds AS vcpuSeconds, gib_seconds AS gibSeconds, requests
       FROM billing_usage WHERE minute_ms >= ? AND minute_ms < ? ORDER BY minute_ms`,
    );
  }

  /** Write one flush of the meter in a single transaction. */
  record(records: readonly UsageRecord[]): void {
    if (records.length === 0) return;
    this.db.transaction((batch: readonly UsageRecord[]) => {
      for (const r of batch) {
        const at = Math.max(r.startMs, r.endMs - 1);
        this.upsert.run({
          service: r.service,
          revision: r.revision,
          mode: r.mode,
          minute: Math.floor(at / MINUTE_MS) * MINUTE_MS,
          billableMs: r.billableMs,
          vcpuSeconds: r.vcpuSeconds,
          gibSeconds: r.gibSeconds,
          requests: r.requests,
        });
      }
    })(records);
  }

  /** Usage per service, mode and UTC day for minutes in [sinceMs, untilMs): the report's chart. */
  daily(sinceMs: number, untilMs: number): DailyUsage[] {
    const rows = this.db
      .prepare(
        `SELECT service, mode, (minute_ms / ${DAY_MS}) * ${DAY_MS} AS dayMs, SUM(billable_ms) AS billableMs,
                SUM(vcpu_seconds) AS vcpuSeconds, SUM(gib_seconds) AS gibSeconds, SUM(requests) AS requests
         FROM billing_usage WHERE minute_ms >= ? AND minute_ms < ? GROUP BY service, mode, dayMs ORDER BY dayMs, service`,
      )
      .all(sinceMs, untilMs) as (Omit<DailyUsage, 'day'> & { dayMs: number })[];
    return rows.map(({ dayMs, ...r }) => ({ ...r, day: new Date(dayMs).toISOString().slice(0, 10) }));
  }

  /** Usage per service, revision, mode and month for minutes in [sinceMs, untilMs). */
  aggregate(sinceMs: number, untilMs: number): UsageAggregate[] {
    const rows = this.selectRange.all(sinceMs, untilMs) as {
      service: string;
      revision: string;
      mode: BillingMode;
      minute: number;
      billableMs: number;
      vcpuSeconds: number;
      gibSeconds: number;
      requests: number;
    }[];
    const out = new Map<string, UsageAggregate>();
    for (const r of rows) {
      const month = monthOf(r.minute);
      const key = `${r.service}\u0000${r.revision}\u0000${r.mode}\u0000${month}`;
      let a = out.get(key);
      if (!a) {
        a = { service: r.service, revision: r.revision, mode: r.mode, month, billableMs: 0, vcpuSeconds: 0, gibSeconds: 0, requests: 0 };
        out.set(key, a);
      }
      a.billableMs += r.billableMs;
      a.vcpuSeconds += r.vcpuSeconds;
      a.gibSeconds += r.gibSeconds;
      a.requests += r.requests;
    }
    return [...out.values()];
  }

  /** Drop usage older than `beforeMs` (the retention setting). */
  prune(beforeMs: number): number {
    return this.db.prepare('DELETE FROM billing_usage WHERE minute_ms < ?').run(beforeMs).changes;
  }
}
