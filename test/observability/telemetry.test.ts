import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/observability/log.types.js';
import type { BillingReport } from '../../src/serving/billing/index.js';
import { adminToken, api, call, deployHello, KUMO_BIN, removeHome, startKumo, uniqueName, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

// An app that logs one structured line per request, carrying the trace kumo passed it.
const APP = `
const http = require('http');
http.createServer((req, res) => {
  const [trace] = String(req.headers['x-cloud-trace-context'] || '').split('/');
  const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') || 0);
  setTimeout(() => {
    console.log(JSON.stringify({ severity: 'WARNING', message: 'handled ' + req.url, 'logging.googleapis.com/trace': 'projects/kumo-project/traces/' + trace, 'logging.googleapis.com/labels': { path: req.url } }));
    console.log('a plain text line');
    res.end('ok');
  }, ms);
}).listen(process.env.PORT);
`;

let k: KumoServer;
let name: string;
beforeAll(async () => {
  k = await startKumo(['--metrics-step', '1s', '--idle-grace', '60s']);
  const dir = mkdtempSync(join(tmpdir(), 'kumo-obs-'));
  writeFileSync(join(dir, 'server.js'), APP);
  name = deployHello(k, uniqueName('obs'), ['--source', dir]);
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

async function logs(q = ''): Promise<LogEntry[]> {
  return (await api<{ entries: LogEntry[] }>(k, 'GET', `/api/services/${name}/logs?limit=500${q}`)).json.entries;
}

describe('logs, metrics and billing end to end', () => {
  it('bills ten overlapping requests as one busy period, not ten', async () => {
    const t0 = Date.now();
    const replies = await Promise.all(Array.from({ length: 10 }, () => call(k, `${name}.localhost`, '/?ms=400')));
    const busyMs = Date.now() - t0;
    expect(replies.every((r) => r.status === 200)).toBe(true);
    // usage is flushed every --metrics-step (1 s here): wait for two flushes after the requests ended
    await new Promise((r) => setTimeout(r, 2500));
    const report = (await api<BillingReport>(k, 'GET', `/api/billing/report?service=${name}&since=10m`)).json;
    // the instance's startup (deployment probe) plus one busy stretch of ~400 ms, rounded up to 100 ms
    expect(report.total.requests).toBe(10);
    expect(report.total.billableSeconds).toBeGreaterThanOrEqual(0.4);
    expect(report.total.billableSeconds).toBeLessThan(busyMs / 1000 + 1.5);
    expect(report.total.billableSeconds).toBeLessThan(4); // ten separate requests would bill >= 4 s
    expect(report.total.vcpuSeconds).toBeCloseTo(report.total.billableSeconds * 1, 5);
    expect(report.total.gibSeconds).toBeCloseTo(report.total.billableSeconds * 0.5, 5);
    expect(report.revisions[0]?.mode).toBe('request');
    const cli = k.cli(['billing', 'report', '--service', name, '--since', '10m']);
    expect(cli.stdout).toMatch(/VCPU-S\s+GIB-S\s+REQUESTS/);
    expect(cli.stdout).toContain(name);
  });

  it('writes a request log tied to the app\'s own lines by trace id, and lifts structured fields', async () => {
    const traceId = '0123456789abcdef0123456789abcdef';
    const r = await call(k, `${name}.localhost`, '/traced', { headers: { 'x-cloud-trace-context': `${traceId}/1;o=1`, 'user-agent': 'kumo-test' } });
    expect(r.status).toBe(200);
    const entries = await waitFor('the request log', () => logs(), (e) => e.some((x) => x.kind === 'requests' && x.httpRequest?.requestUrl.endsWith('/traced')), 5000, 100);
    const req = entries.find((x) => x.kind === 'requests' && x.httpRequest?.requestUrl.endsWith('/traced'));
    expect(req).toMatchObject({
      severity: 'INFO',
      trace: `projects/kumo-project/traces/${traceId}`,
      httpRequest: { requestMethod: 'GET', status: 200, userAgent: 'kumo-test', remoteIp: '127.0.0.1', responseSize: '2' },
    });
    expect(req?.httpRequest?.latency).toMatch(/^\d+(\.\d+)?s$/);
    const app = entries.find((x) => x.kind === 'stdout' && x.jsonPayload?.message === 'handled /traced');
    expect(app).toMatchObject({ severity: 'WARNING', trace: `projects/kumo-project/traces/${traceId}`, labels: { path: '/traced' } });
    const text = entries.find((x) => x.kind === 'stdout' && x.textPayload === 'a plain text line');
    expect(text?.severity).toBe('DEFAULT');
    // a request without trace context gets one generated, and the app sees it
    await call(k, `${name}.localhost`, '/untraced');
    const later = await waitFor('the second request log', () => logs(), (e) => e.some((x) => x.httpRequest?.requestUrl.endsWith('/untraced')), 5000, 100);
    const gen = later.find((x) => x.httpRequest?.requestUrl.endsWith('/untraced'));
    expect(gen?.trace).toMatch(/^projects\/kumo-project\/traces\/[0-9a-f]{32}$/);
    expect(later.find((x) => x.jsonPayload?.message === 'handled /untraced')?.trace).toBe(gen?.trace);
  });

  it('filters logs by severity, revision and time from the CLI', async () => {
    const warn = k.cli(['run', 'services', 'logs', 'read', name, '--severity', 'WARNING', '--format', 'json', '--limit', '200']);
    const entries = JSON.parse(warn.stdout) as LogEntry[];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => ['WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'].includes(e.severity))).toBe(true);
    expect(k.cli(['run', 'services', 'logs', 'read', name, '--since', '1ms']).stdout.trim()).toBe('');
    const bad = k.cli(['run', 'services', 'logs', 'read', name, '--severity', 'LOUD']);
    expect(bad.stderr).toContain('severity must be one of DEFAULT, DEBUG, INFO');
  });

  it('follows logs live with logs tail', async () => {
    const tail = spawn(process.execPath, [KUMO_BIN, 'run', 'services', 'logs', 'tail', name], { env: { ...process.env, KUMO_HOME: k.home, KUMO_SERVER: k.url } });
    let out = '';
    let err = '';
    tail.stdout.on('data', (c: Buffer) => (out += c.toString()));
    tail.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      await waitFor('the tail to connect', () => err, (e) => e.includes('Tailing logs of'), 15_000, 50);
      await call(k, `${name}.localhost`, '/tailed');
      await waitFor('the tailed lines', () => out, (o) => o.includes('handled /tailed') && /GET 200 .*\/tailed/.test(o), 5000, 100);
    } finally {
      tail.kill();
    }
  });

  it('keeps metrics as time series and serves Prometheus text', async () => {
    const series = await waitFor(
      'request_count points',
      async () => (await api<{ series: { points: { value?: number }[] }[] }>(k, 'GET', `/api/services/${name}/metrics?metric=request_count&since=10m`)).json,
      (r) => (r.series[0]?.points ?? []).reduce((a, p) => a + (p.value ?? 0), 0) >= 13,
      10_000,
      250,
    );
    expect(series.series.length).toBeGreaterThan(0);
    const lat = (await api<{ series: { points: { p50?: number; p99?: number }[] }[] }>(k, 'GET', `/api/services/${name}/metrics?metric=request_latencies&since=10m`)).json;
    const p50s = lat.series.flatMap((s) => s.points.map((p) => p.p50 ?? 0));
    expect(Math.max(...p50s)).toBeGreaterThanOrEqual(300);
    const bad = await api<{ error: { message: string } }>(k, 'GET', `/api/services/${name}/metrics?metric=nonsense`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('is not one kumo records');
    const prom = await (await fetch(`${k.url}/metrics`, { headers: { authorization: `Bearer ${adminToken(k)}` } })).text();
    expect(prom).toContain('# TYPE run_googleapis_com:request_count counter');
    expect(prom).toMatch(new RegExp(`run_googleapis_com:request_count\\{[^}]*service_name="${name}"`));
  });
});
