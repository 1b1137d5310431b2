/**
 * The scaling and observability parts composed over real HTTP and a real SQLite file, the way
 * the dispatcher will wire them: a tiny front proxy runs the per-request hot path (trace
 * context, autoscaler integrator, billing meter, metrics recorder, request log) in front of a
 * real app that takes 50 ms and logs a JSON line with the trace it was given. Batches are
 * written by timers, off the request path.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/observability/log.types.js';
import { MetricsRecorder, MetricsStore, renderPrometheus } from '../../src/observability/metrics/index.js';
import {
  containerLogEntry,
  parseLogLine,
  randomIdSource,
  requestLogEntry,
  traceContextFor,
  traceHeaders,
} from '../../src/observability/structured/index.js';
import { RevisionAutoscaler, defaultScalingSettings } from '../../src/serving/autoscaler/index.js';
import { BillingMeter, BillingStore, billingReport } from '../../src/serving/billing/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { openDatabase } from '../../src/store/database.js';
import type { Database } from '../../src/store/database.js';

const SERVICE = 'hello';
const REVISION = 'hello-00001';
const INSTANCE = 'hello-00001-abc';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('per-request hot path over real HTTP, batches to a real SQLite file', () => {
  let dir: string;
  let db: Database;
  let app: Server;
  let front: Server;
  let frontPort: number;
  let upstream: Pool;
  const appLines: { stream: 'stdout'; line: string; timeMs: number }[] = [];
  const requestLog: LogEntry[] = [];
  const outside: { start: number; end: number }[] = [];
  let flushTimer: NodeJS.Timeout;

  const now = (): number => performance.timeOrigin + performance.now();
  const autoscaler = new RevisionAutoscaler(defaultScalingSettings(undefined, 10), now());
  const meter = new BillingMeter();
  const recorder = new MetricsRecorder(now(), 1000);
  const metrics = recorder.revision(SERVICE, REVISION);
  const ids = randomIdSource((b) => randomFillSync(b));
  let instanceInFlight = 0;
  /** Sum over samples of average concurrency × interval: request-milliseconds seen by the autoscaler. */
  let concurrencyIntegral = 0;
  let billingStore: BillingStore;
  let metricsStore: MetricsStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-scaling-it-'));
    db = openDatabase(join(dir, 'kumo.db'));
    billingStore = new BillingStore(db);
    metricsStore = new MetricsStore(db, systemClock);

    app = createServer((req, res) => {
      const [trace] = String(req.headers['x-cloud-trace-context'] ?? '').split('/');
      setTimeout(() => {
        appLines.push({
          stream: 'stdout',
          line: JSON.stringify({ severity: 'INFO', message: 'handled', 'logging.googleapis.com/trace': `projects/demo/traces/${trace ?? ''}` }),
          timeMs: now(),
        });
        res.end('ok\n');
      }, 50);
    });
    const appPort = await listen(app);
    upstream = new Pool(`http://127.0.0.1:${appPort}`, { connections: 32 });

    const startMs = now();
    meter.instanceStarting({ service: SERVICE, revision: REVISION, instanceId: INSTANCE, mode: 'request', cpuMillis: 1000, memoryBytes: 512 * 1024 ** 2 }, startMs);
    meter.instanceReady(INSTANCE, startMs + 1);
    metrics.recordStartup(1);

    front = createServer((req: IncomingMessage, res: ServerResponse) => {
      const arrived = now();
      autoscaler.requestStarted(arrived);
      meter.requestStarted(INSTANCE, arrived);
      metrics.requestStarted(++instanceInFlight);
      const trace = traceContextFor(req.headers.traceparent as string | undefined, req.headers['x-cloud-trace-context'] as string | undefined, ids);
      void upstream
        .request({ path: req.url ?? '/', method: 'GET', headers: traceHeaders(trace) })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': 'text/plain' });
          res.end(body);
          const ended = now();
          instanceInFlight--;
          autoscaler.requestEnded(ended);
          meter.requestEnded(INSTANCE, ended);
          recorder.recordRequest(metrics, r.statusCode, ended - arrived, 0, body.length);
          requestLog.push(
            requestLogEntry(
              { project: 'demo', method: req.method ?? 'GET', url: req.url ?? '/', status: r.statusCode, latencyMs: ended - arrived, requestBytes: 0, responseBytes: body.length, timeMs: arrived, trace },
              { service: SERVICE, revision: REVISION, instanceId: INSTANCE, insertId: `r${requestLog.length}` },
            ),
          );
        });
    });
    frontPort = await listen(front);

    // Off the request path: every 200 ms, close usage and metric intervals into SQLite.
    let lastObserved = now();
    autoscaler.observe(lastObserved); // start the first sample interval here
    flushTimer = setInterval(() => {
      const t = now();
      concurrencyIntegral += autoscaler.observe(t) * (t - lastObserved);
      lastObserved = t;
      const usage = meter.flush(t);
      billingStore.record(usage);
      for (const u of usage) metrics.addBillableMs(u.billableMs);
      metricsStore.write(recorder.roll(t));
    }, 200);
  });

  afterAll(async () => {
    clearInterval(flushTimer);
    await new Promise<void>((r) => front.close(() => r()));
    await upstream.close();
    await new Promise<void>((r) => app.close(() => r()));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('10 overlapping requests: one shared busy period billed, traces tied, metrics and report agree', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const start = now();
        const r = await request(`http://127.0.0.1:${frontPort}/work`);
        const text = await r.body.text();
        outside.push({ start, end: now() });
        return { status: r.statusCode, text };
      }),
    );
    expect(results.every((r) => r.status === 200 && r.text === 'ok\n')).toBe(true);

    await new Promise((r) => setTimeout(r, 600)); // let the timers flush
    // The autoscaler's time-weighted samples add up to exactly the request time the proxy saw.
    const requestMs = requestLog.reduce((n, e) => n + parseFloat(e.httpRequest?.latency ?? '0') * 1000, 0);
    expect(concurrencyIntegral).toBeCloseTo(requestMs, 0);
    expect(autoscaler.decide(now(), { readyInstances: 1, startingInstances: 0 }).desired).toBe(1);
    const observedBusyMs = Math.max(...outside.map((o) => o.end)) - Math.min(...outside.map((o) => o.start));
    const report = billingReport(billingStore, { sinceMs: now() - 3_600_000, untilMs: now() + 60_000 });
    const line = report.revisions[0];
    expect(line?.requests).toBe(10);
    const billedRequestMs = (line?.billableSeconds ?? 0) * 1000 - 100; // minus the 1 ms startup, billed as one unit
    // One busy period inside what the clients saw, rounded up to 100 ms: far below 10 × 100 ms.
    expect(billedRequestMs % 100).toBe(0);
    expect(billedRequestMs).toBeGreaterThanOrEqual(100);
    expect(billedRequestMs).toBeLessThan(observedBusyMs + 100);
    expect(billedRequestMs).toBeLessThan(1000);

    // Each request log entry shares its trace with the app's own line for that request.
    const appEntries = appLines.map((l, i) => containerLogEntry('stdout', parseLogLine(l.stream, l.line, l.timeMs, { project: 'demo' }), { service: SERVICE, insertId: `a${i}` }));
    expect(requestLog).toHaveLength(10);
    expect(new Set(requestLog.map((e) => e.trace)).size).toBe(10);
    expect(new Set(appEntries.map((e) => e.trace))).toEqual(new Set(requestLog.map((e) => e.trace)));

    // Metrics: persisted series and the Prometheus text agree with what happened.
    const q = { service: SERVICE, sinceMs: now() - 600_000, untilMs: now() + 10_000, stepMs: 600_000 };
    const count = metricsStore.query({ ...q, metric: 'request_count' });
    expect(count.series[0]?.labels.response_code_class).toBe('2xx');
    expect(count.series[0]?.points.reduce((n, p) => n + (p.value ?? 0), 0)).toBe(10);
    const lat = metricsStore.query({ ...q, metric: 'request_latencies' }).series[0]?.points[0];
    expect(lat?.p50).toBeGreaterThanOrEqual(50);
    const maxConc = metricsStore.query({ ...q, metric: 'container/max_request_concurrencies' }).series[0]?.points[0]?.max;
    expect(maxConc).toBe(10);
    const billed = metricsStore.query({ ...q, metric: 'container/billable_instance_time' }).series[0]?.points[0]?.value ?? 0;
    expect(billed).toBeCloseTo(line?.billableSeconds ?? -1, 9);
    expect(renderPrometheus(recorder)).toContain(
      `run_googleapis_com:request_count{service_name="${SERVICE}",revision_name="${REVISION}",response_code_class="2xx"} 10\n`,
    );
  });
});
