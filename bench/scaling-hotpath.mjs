// Per-request cost of the scaling/observability hot-path calls (ns/op), beside two peers
// measured in the same run: Date.now() (the floor every request already pays) and one real
// HTTP request over loopback (node:http server + undici, keep-alive), which is what the
// router spends per request anyway. Median of 7 alternating runs.
//   npm run bench:hotpath
import { randomFillSync } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';
import { Pool } from 'undici';
import { InFlightIntegrator } from '../dist/serving/autoscaler/index.js';
import { BillingMeter } from '../dist/serving/billing/index.js';
import { MetricsRecorder } from '../dist/observability/metrics/index.js';
import { parseLogLine, randomIdSource, requestLogEntry, traceContextFor, traceHeaders } from '../dist/observability/structured/index.js';

const RUNS = 7;
const log = (line) => process.stdout.write(`${line}\n`);
let sink = 0;

function nsPerOp(fn, iterations) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const integrator = new InFlightIntegrator(0);
const meter = new BillingMeter();
const inst = meter.instanceStarting({ service: 's', revision: 's-1', instanceId: 'i', mode: 'request', cpuMillis: 1000, memoryBytes: 536870912 }, 0);
inst.ready(1);
const recorder = new MetricsRecorder(0);
const rev = recorder.revision('s', 's-1');
const ids = randomIdSource((b) => randomFillSync(b));
const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const textLine = 'GET /api/items 200 12ms';
const jsonLine = JSON.stringify({ severity: 'INFO', message: 'handled', 'logging.googleapis.com/trace': 'projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736', userId: 42 });
let t = 10;

const cases = {
  'autoscaler integrator inc+dec': [(i) => { integrator.inc(t + i); integrator.dec(t + i + 1); }, 2_000_000],
  'billing meter requestStarted+Ended': [(i) => { inst.requestStarted(t + i); inst.requestEnded(t + i + 1); }, 2_000_000],
  'metrics recordRequest+requestStarted': [(i) => { rev.requestStarted(3); recorder.recordRequest(rev, 200, (i % 300) + 0.5, 120, 900); }, 2_000_000],
  'trace: parse traceparent + headers': [() => { const c = traceContextFor(incoming, undefined, ids); sink += traceHeaders(c).traceparent.length; }, 300_000],
  'trace: generate + headers': [() => { const c = traceContextFor(undefined, undefined, ids); sink += traceHeaders(c).traceparent.length; }, 300_000],
  'request log entry (build)': [() => {
    const c = traceContextFor(undefined, undefined, ids);
    sink += requestLogEntry({ project: 'p', method: 'GET', url: '/x', status: 200, latencyMs: 1.5, requestBytes: 0, responseBytes: 12, userAgent: 'wrk', remoteIp: '127.0.0.1', timeMs: 1.7e12, trace: c }, { service: 's', revision: 's-1', insertId: 'x' }).timestamp.length;
  }, 200_000],
  'log line: text (per line)': [() => { sink += parseLogLine('stdout', textLine, 1.7e12, { project: 'p' }).severity.length; }, 500_000],
  'log line: JSON (per line)': [() => { sink += parseLogLine('stdout', jsonLine, 1.7e12, { project: 'p' }).severity.length; }, 200_000],
  'peer: Date.now()': [() => { sink += Date.now() & 1; }, 2_000_000],
};

// Peer: one HTTP request over loopback, keep-alive.
const server = createServer((_req, res) => res.end('ok'));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address();
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
async function httpNsPerOp(n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = await pool.request({ path: '/', method: 'GET' });
    await r.body.text();
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
results['peer: HTTP request over loopback'] = [];
for (const [, [fn, n]] of Object.entries(cases)) nsPerOp(fn, Math.min(n, 100_000)); // warm up
await httpNsPerOp(500);
for (let run = 0; run < RUNS; run++) {
  for (const [name, [fn, n]] of Object.entries(cases)) {
    results[name].push(nsPerOp(fn, n));
    t += n + 10;
  }
  results['peer: HTTP request over loopback'].push(await httpNsPerOp(2000));
}
await pool.close();
server.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const http = median(results['peer: HTTP request over loopback']);
log(`node ${process.version}, ${RUNS} alternating runs, median ns/op`);
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  log(`${name.padEnd(40)} ${m.toFixed(1).padStart(10)} ns   ${((100 * m) / http).toFixed(3).padStart(7)} % of one HTTP request`);
}
const perRequest = ['autoscaler integrator inc+dec', 'billing meter requestStarted+Ended', 'metrics recordRequest+requestStarted', 'trace: parse traceparent + headers', 'request log entry (build)'];
const total = perRequest.reduce((s, k) => s + median(results[k]), 0);
log(`${'sum of per-request calls'.padEnd(40)} ${total.toFixed(1).padStart(10)} ns   ${((100 * total) / http).toFixed(3).padStart(7)} % of one HTTP request`);
if (sink === 42) log('');
