import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import type { KumoError } from '../../shared/errors.js';
import { openDatabase } from '../../store/database.js';
import type { Database } from '../../store/database.js';
import { prometheusName } from './catalog.js';
import { LATENCY_BOUNDS_MS, bucketIndex, quantile } from './histogram.js';
import { MetricsStore } from './metrics.store.js';
import { renderPrometheus } from './prometheus.js';
import { MetricsRecorder } from './recorder.js';

const T = Math.floor(1_700_000_000_000 / 300_000) * 300_000; // aligned to 5 min

describe('histogram', () => {
  it('finds buckets with Prometheus le semantics', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.2)).toBe(1);
    expect(bucketIndex(10)).toBe(6);
    expect(bucketIndex(4_000_000)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it('interpolates quantiles inside a bucket', () => {
    const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    counts[5] = 100; // (5, 7.5]
    expect(quantile(counts, 0.5, 7.5)).toBe(6.25); // 5 + 2.5 × 50/100
    expect(quantile(new Array<number>(34).fill(0), 0.5, 0)).toBeUndefined();
  });
});

describe('metrics recorder and store (real SQLite file)', () => {
  let dir: string;
  let db: Database;
  let clock: FakeClock;
  let store: MetricsStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-metrics-'));
    db = openDatabase(join(dir, 'kumo.db'));
    clock = new FakeClock(T);
    store = new MetricsStore(db, clock);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function trafficInOneInterval(rec: MetricsRecorder): void {
    const r1 = rec.revision('hello', 'hello-00001');
    for (let i = 0; i < 90; i++) rec.recordRequest(r1, 200, 8, 100, 1000);
    for (let i = 0; i < 10; i++) rec.recordRequest(r1, 503, 120, 100, 50);
    r1.requestStarted(3);
    r1.requestStarted(7);
    r1.setInstances(2, 1);
    r1.setInstances(4, 0);
    r1.setInstances(3, 1);
    r1.recordStartup(450);
    r1.recordUtilization(0.5, 0.25);
    r1.recordUtilization(0.7, 0.35);
    r1.addBillableMs(12_300);
    rec.setHostBudget({ cpu: 0.5, memory: 0.25, instances: 0.1 });
  }

  it('answers Cloud Run-shaped queries with hand-computed values', () => {
    const rec = new MetricsRecorder(T);
    trafficInOneInterval(rec);
    clock.advance(10_000);
    store.write(rec.roll(clock.now()));
    const q = { service: 'hello', sinceMs: T, untilMs: T + 60_000, stepMs: 60_000 };

    const count = store.query({ ...q, metric: 'request_count' });
    expect(count).toMatchObject({ kind: 'counter', stepMs: 60_000, resolutionMs: 10_000 });
    expect(count.series.map((s) => [s.labels.response_code_class, s.points[0]?.value, s.points[0]?.rate])).toEqual([
      ['2xx', 90, 1.5],
      ['5xx', 10, 10 / 60],
    ]);

    // 90 at 8 ms in (7.5, 10], 10 at 120 ms in (100, 150] capped by the max 120.
    // p50: rank 50 of 90 in the first → 7.5 + 2.5 × 50/90; p95: rank 5 of 10 → 100 + 20 × 5/10 = 110; p99 → 118.
    const lat = store.query({ ...q, metric: 'request_latencies' }).series[0]?.points[0];
    expect(lat?.count).toBe(100);
    expect(lat?.mean).toBeCloseTo(19.2, 9); // (90×8 + 10×120) / 100
    expect(lat?.p50).toBeCloseTo(7.5 + (2.5 * 50) / 90, 9);
    expect(lat?.p95).toBeCloseTo(110, 9);
    expect(lat?.p99).toBeCloseTo(118, 9);

    const inst = store.query({ ...q, metric: 'container/instance_count' });
    expect(inst.series.find((s) => s.labels.state === 'active')?.points[0]).toMatchObject({ mean: 3, max: 4 });
    expect(store.query({ ...q, metric: 'container/max_request_concurrencies' }).series[0]?.points[0]?.max).toBe(7);
    expect(store.query({ ...q, metric: 'container/cpu/utilizations' }).series[0]?.points[0]?.mean).toBeCloseTo(0.6, 9);
    expect(store.query({ ...q, metric: 'container/billable_instance_time' }).series[0]?.points[0]?.value).toBeCloseTo(12.3, 9);
    expect(store.query({ ...q, metric: 'container/network/received_bytes_count' }).series[0]?.points[0]?.value).toBe(10_000);
    expect(store.query({ ...q, metric: 'container/network/sent_bytes_count' }).series[0]?.points[0]?.value).toBe(90_500);
    expect(store.query({ ...q, metric: 'container/startup_latencies' }).series[0]?.points[0]?.count).toBe(1);
    const host = store.query({ sinceMs: T, untilMs: T + 60_000, stepMs: 60_000, metric: 'kumo/host/budget_in_use' });
    expect(host.series.map((s) => [s.labels.resource, s.points[0]?.mean])).toEqual([
      ['cpu', 0.5],
      ['instances', 0.1],
      ['memory', 0.25],
    ]);
  });

  it('sums a counter per service and step for every service in one scan', () => {
    const rec = new MetricsRecorder(T);
    const a1 = rec.revision('a', 'a-00001');
    const a2 = rec.revision('a', 'a-00002');
    const b = rec.revision('b', 'b-00001');
    for (let i = 0; i < 5; i++) rec.recordRequest(a1, 200, 1, 0, 0);
    for (let i = 0; i < 2; i++) rec.recordRequest(a2, 500, 1, 0, 0);
    clock.advance(10_000);
    store.write(rec.roll(clock.now()));
    rec.recordRequest(b, 200, 1, 0, 0);
    clock.advance(60_000);
    store.write(rec.roll(clock.now()));
    const t = store.serviceTotals('request_count', T, T + 120_000, 60_000);
    expect({ startMs: t.startMs, steps: t.steps }).toEqual({ startMs: Math.floor(T / 60_000) * 60_000, steps: Math.ceil((T + 120_000 - Math.floor(T / 60_000) * 60_000) / 60_000) });
    const sum = (xs: number[] | undefined) => (xs ?? []).reduce((x, y) => x + y, 0);
    expect(sum(t.services.get('a'))).toBe(7);
    expect(sum(t.services.get('b'))).toBe(1);
    expect(t.services.get('a')?.indexOf(7)).toBe(Math.floor((T - t.startMs) / 60_000));
    expect(() => store.serviceTotals('request_latencies', T, T + 60_000, 60_000)).toThrow(/metric/);
    expect(() => store.serviceTotals('request_count', T, T + 60_000, 15_000)).toThrow(/step/);
  });

  it('rolls 10 s points up into 5 min points and keeps those after the fine ones expire', () => {
    const rec = new MetricsRecorder(T);
    const r1 = rec.revision('hello', 'hello-00001');
    const r2 = rec.revision('hello', 'hello-00002');
    for (let k = 0; k < 30; k++) {
      // 30 intervals of 10 s: k+1 requests on r1, one on r2
      for (let i = 0; i <= k; i++) rec.recordRequest(r1, 200, 5, 0, 0);
      rec.recordRequest(r2, 404, 5, 0, 0);
      clock.advance(10_000);
      store.write(rec.roll(clock.now()));
    }
    // Fine: the first minute holds 1+2+…+6 = 21 on r1 and 6 on r2.
    const fine = store.query({ service: 'hello', metric: 'request_count', sinceMs: T, untilMs: T + 60_000, stepMs: 60_000, groupByRevision: true });
    expect(fine.series.map((s) => [s.labels.revision_name, s.points[0]?.value])).toEqual([
      ['hello-00001', 21],
      ['hello-00002', 6],
    ]);
    // Two hours later the 10 s points are pruned; the 5 min point holds 1+…+30 = 465 + 30.
    clock.advance(2 * 3_600_000);
    store.write([]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM metrics_fine').get() as { n: number }).n).toBe(0);
    const coarse = store.query({ service: 'hello', metric: 'request_count', sinceMs: T, untilMs: T + 300_000 });
    expect(coarse.resolutionMs).toBe(300_000);
    expect(coarse.series.map((s) => s.points[0]?.value)).toEqual([465, 30]);
    // A revision filter narrows it.
    const only2 = store.query({ service: 'hello', revision: 'hello-00002', metric: 'request_count', sinceMs: T, untilMs: T + 300_000 });
    expect(only2.series[0]?.points[0]?.value).toBe(30);
  });

  it('writes a gauge that stays at zero once, and merges two rolls in one 10 s slot', () => {
    const rec = new MetricsRecorder(T);
    const r = rec.revision('idle', 'idle-00001');
    for (let k = 0; k < 5; k++) {
      r.setInstances(0, 0);
      clock.advance(10_000);
      store.write(rec.roll(clock.now()));
    }
    const rows = db.prepare("SELECT COUNT(*) AS n FROM metrics_fine WHERE metric = 'container/instance_count'").get() as { n: number };
    expect(rows.n).toBe(2); // active and idle, once each
    const rec2 = new MetricsRecorder(T + 100_000);
    const a = rec2.revision('idle', 'idle-00001');
    rec2.recordRequest(a, 200, 1, 0, 0);
    store.write(rec2.roll(T + 103_000));
    rec2.recordRequest(a, 200, 1, 0, 0);
    store.write(rec2.roll(T + 106_000)); // same 10 s slot: merged
    const n = store.query({ service: 'idle', metric: 'request_count', sinceMs: T + 100_000, untilMs: T + 110_000, stepMs: 10_000 });
    expect(n.series[0]?.points[0]?.value).toBe(2);
  });

  it('rejects bad queries naming every field', () => {
    try {
      store.query({ metric: 'cpu', sinceMs: 10, untilMs: 5, stepMs: -1 });
      expect.unreachable();
    } catch (err) {
      expect((err as KumoError).fields.violations?.map((v) => v.field)).toEqual(['metric', 'since', 'step']);
    }
    expect(() => store.query({ metric: 'request_count', sinceMs: 0, untilMs: 1 })).toThrow(/service: is required/);
    expect(() => store.query({ service: 'a', metric: 'request_count', sinceMs: T - 30 * 86_400_000, untilMs: T, stepMs: 1 })).toThrow(/8640 points; use a step of at least 1296s/);
  });
});

describe('Prometheus text', () => {
  it('renders HELP/TYPE, labelled counters, cumulative histogram buckets and gauges', () => {
    const rec = new MetricsRecorder(T);
    const r = rec.revision('hello', 'hello-00001');
    rec.recordRequest(r, 200, 8, 10, 20);
    rec.recordRequest(r, 200, 120, 10, 20);
    rec.recordRequest(r, 500, 4_000_000, 0, 0);
    r.setInstances(1, 2);
    rec.roll(T + 10_000);
    const text = renderPrometheus(rec);
    const name = prometheusName('request_count');
    expect(name).toBe('run_googleapis_com:request_count');
    expect(prometheusName('container/cpu/utilizations')).toBe('run_googleapis_com:container_cpu_utilizations');
    expect(prometheusName('kumo/host/budget_in_use')).toBe('kumo_dev:host_budget_in_use');
    expect(text).toContain(`# TYPE ${name} counter\n`);
    expect(text).toContain(`${name}{service_name="hello",revision_name="hello-00001",response_code_class="2xx"} 2\n`);
    expect(text).toContain(`${name}{service_name="hello",revision_name="hello-00001",response_code_class="5xx"} 1\n`);
    const lat = 'run_googleapis_com:request_latencies';
    expect(text).toContain(`# TYPE ${lat} histogram\n`);
    expect(text).toContain(`${lat}_bucket{service_name="hello",revision_name="hello-00001",le="7.5"} 0\n`);
    expect(text).toContain(`${lat}_bucket{service_name="hello",revision_name="hello-00001",le="10"} 1\n`);
    expect(text).toContain(`${lat}_bucket{service_name="hello",revision_name="hello-00001",le="150"} 2\n`);
    expect(text).toContain(`${lat}_bucket{service_name="hello",revision_name="hello-00001",le="3600000"} 2\n`);
    expect(text).toContain(`${lat}_bucket{service_name="hello",revision_name="hello-00001",le="+Inf"} 3\n`);
    expect(text).toContain(`${lat}_count{service_name="hello",revision_name="hello-00001"} 3\n`);
    expect(text).toContain(`${lat}_sum{service_name="hello",revision_name="hello-00001"} 4000128\n`);
    expect(text).toContain('run_googleapis_com:container_instance_count{service_name="hello",revision_name="hello-00001",state="idle"} 2\n');

    // Structure: every sample line is `name{labels} value` under a TYPE line of its family.
    let family = '';
    for (const line of text.trimEnd().split('\n')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
      if (type) {
        family = type[1] ?? '';
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(m?.[1]?.startsWith(family), line).toBe(true);
      expect(Number.isNaN(Number(m?.[3])), line).toBe(false);
    }
  });

  it('escapes label values', () => {
    const rec = new MetricsRecorder(T);
    rec.recordRequest(rec.revision('a"b', 'c\\d\ne'), 200, 1, 0, 0);
    expect(renderPrometheus(rec)).toContain('service_name="a\\"b",revision_name="c\\\\d\\ne"');
  });
});
