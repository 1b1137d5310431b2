// npm run bench:autoscale — a step from 0 to 200 concurrent clients on a 50 ms endpoint with
// --concurrency 10, held 60 s, then stopped. Prints how fast and where the instance count
// settles (ideal ceil(200 / (10 × 0.6)) = 34), errors, latency during and after the ramp, the
// time back to zero, and billed vCPU-seconds next to the busy time seen from outside.
import { connect } from 'node:net';
import { join } from 'node:path';
import { median, percentile, ROOT, startKumo, table } from './lib.mjs';

const CLIENTS = Number(process.env.CLIENTS ?? 200);
const HOLD_MS = Number(process.env.HOLD_SEC ?? 60) * 1000;
const CONCURRENCY = 10;
const IDEAL = Math.ceil(CLIENTS / (CONCURRENCY * 0.6));
const runtime = process.argv.includes('--runtime') ? process.argv[process.argv.indexOf('--runtime') + 1] : 'process';

const kumo = await startKumo(['--runtime', runtime]);
const token = kumo.cli(['auth', 'print-access-token']).trim();
kumo.cli(['run', 'deploy', 'step', '--source', join(ROOT, 'examples', 'hello'), '--allow-unauthenticated', '--concurrency', String(CONCURRENCY), '--format', 'json']);
const host = `step.localhost:${kumo.port}`;

async function instanceCount() {
  const r = await fetch(`${kumo.url}/api/services/step/instances`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.json()).items.filter((i) => i.state !== 'draining').length;
}

// wait for the deployment probe's instance to go away: start from zero
process.stderr.write('waiting for zero instances (the idle grace is 30 s)...\n');
while ((await instanceCount()) > 0) await new Promise((r) => setTimeout(r, 500));

/** The body and where the response ends (Content-Length or chunked), or undefined when incomplete. */
function frame(head, buf, start) {
  if (/transfer-encoding:\s*chunked/i.test(head)) {
    let at = start;
    let body = '';
    for (;;) {
      const nl = buf.indexOf('\r\n', at);
      if (nl < 0) return undefined;
      const size = parseInt(buf.subarray(at, nl).toString('latin1'), 16);
      if (buf.length < nl + 2 + size + 2) return undefined;
      if (size === 0) return { body, end: nl + 4 };
      body += buf.subarray(nl + 2, nl + 2 + size).toString('latin1');
      at = nl + 2 + size + 2;
    }
  }
  const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
  if (buf.length < start + len) return undefined;
  return { body: buf.subarray(start, start + len).toString('latin1'), end: start + len };
}

// Each client is one keep-alive connection sending the next request the moment the previous
// answer ends: raw sockets keep the load generator's own overhead out of the concurrency kumo sees.
const samples = []; // { start, end, status, pid }
let running = true;
const t0 = performance.now();
const requestBytes = Buffer.from(`GET /slow?ms=50 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
function client() {
  return new Promise((done) => {
    let sock;
    let buf = Buffer.alloc(0);
    let start = 0;
    const send = () => {
      if (!running) {
        sock.end();
        return done();
      }
      start = performance.now();
      sock.write(requestBytes);
    };
    const open = () => {
      buf = Buffer.alloc(0);
      sock = connect({ host: '127.0.0.1', port: kumo.port }, send);
      sock.setNoDelay(true);
      sock.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const headEnd = buf.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const head = buf.subarray(0, headEnd).toString('latin1');
          const framed = frame(head, buf, headEnd + 4);
          if (!framed) return;
          const { body, end } = framed;
          buf = buf.subarray(end);
          samples.push({ start: start - t0, end: performance.now() - t0, status: Number(head.slice(9, 12)), pid: /pid (\d+)/.exec(body)?.[1] });
          send();
        }
      });
      sock.on('error', () => {
        samples.push({ start: start - t0, end: performance.now() - t0, status: 0 });
        sock.destroy();
        if (running) setTimeout(open, 10);
        else done();
      });
    };
    open();
  });
}

const counts = []; // { t, n }
const poll = setInterval(async () => counts.push({ t: performance.now() - t0, n: await instanceCount() }), 500);
const clients = Array.from({ length: CLIENTS }, () => client());
await new Promise((r) => setTimeout(r, HOLD_MS));
running = false;
await Promise.all(clients);
const stopAt = performance.now() - t0;
clearInterval(poll);
process.stderr.write('load stopped; waiting for zero instances...\n');
let zeroAt;
for (;;) {
  if ((await instanceCount()) === 0) {
    zeroAt = performance.now() - t0;
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
await new Promise((r) => setTimeout(r, 11_000)); // one more billing flush (every 10 s)
const report = await (await fetch(`${kumo.url}/api/billing/report?service=step&since=1h`, { headers: { authorization: `Bearer ${token}` } })).json();
await kumo.stop();

// settling: the first time after which the count stays within ±1 of the settled value
const hold = counts.filter((c) => c.t <= stopAt);
const settled = median(hold.filter((c) => c.t >= stopAt - 30_000).map((c) => c.n));
let settleAt = 0;
for (let i = hold.length - 1; i >= 0; i--) {
  if (Math.abs(hold[i].n - settled) > 1) {
    settleAt = hold[i + 1]?.t ?? stopAt;
    break;
  }
}
const rampEnd = Math.max(settleAt, 1000);
const during = samples.filter((s) => s.start < rampEnd).map((s) => s.end - s.start);
const after = samples.filter((s) => s.start >= rampEnd && s.start < stopAt).map((s) => s.end - s.start);
const bad = samples.filter((s) => s.status !== 200);

// busy time seen from outside: per instance (pid), the union of its requests' intervals
const byPid = new Map();
for (const s of samples) if (s.pid) (byPid.get(s.pid) ?? byPid.set(s.pid, []).get(s.pid)).push([s.start, s.end]);
let busyMs = 0;
for (const spans of byPid.values()) {
  spans.sort((a, b) => a[0] - b[0]);
  let [cs, ce] = spans[0];
  for (const [s, e] of spans.slice(1)) {
    if (s <= ce) ce = Math.max(ce, e);
    else {
      busyMs += Math.ceil((ce - cs) / 100) * 100;
      [cs, ce] = [s, e];
    }
  }
  busyMs += Math.ceil((ce - cs) / 100) * 100;
}
const billedVcpu = report.total.vcpuSeconds;

console.log(`\nstep 0 → ${CLIENTS} clients on /slow?ms=50, --concurrency ${CONCURRENCY}, held ${HOLD_MS / 1000} s (runtime ${runtime}, Node ${process.version})\n`);
console.log(
  table(
    ['measure', 'value', 'aim'],
    [
      ['time until the instance count settles', `${(settleAt / 1000).toFixed(1)} s`, '<= 10 s'],
      ['settled instance count', String(settled), `${IDEAL} ± 1 (ceil(${CLIENTS} / (${CONCURRENCY} × 0.6)))`],
      ['requests / non-2xx', `${samples.length} / ${bad.length}`, '0 non-2xx'],
      ['latency during the ramp p50 / p99', `${median(during).toFixed(0)} / ${percentile(during, 99).toFixed(0)} ms`, ''],
      ['latency after the ramp p50 / p99', `${median(after).toFixed(0)} / ${percentile(after, 99).toFixed(0)} ms`, '~50 ms app time'],
      ['time back to zero after the load stopped', `${((zeroAt - stopAt) / 1000).toFixed(1)} s`, 'idle grace 30 s + scale-down'],
      ['billed vCPU-seconds (1 vCPU)', billedVcpu.toFixed(1), ''],
      ['busy instance-seconds seen from outside', (busyMs / 1000).toFixed(1), ''],
      ['billed / observed', (billedVcpu / (busyMs / 1000)).toFixed(3), 'within 5 % (0.95-1.05)'],
    ],
  ),
);
const peak = Math.max(...counts.map((c) => c.n));
console.log(`\npeak instance count ${peak}; ${byPid.size} distinct instances served requests`);
console.log(`instance count over the first 20 s: ${counts.filter((c) => c.t < 20_000).map((c) => `${(c.t / 1000).toFixed(1)}s:${c.n}`).join(' ')}`);
