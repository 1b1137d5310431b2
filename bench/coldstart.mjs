// npm run bench:coldstart [-- --runtime process|runc|docker] — time from a request to a service
// at zero instances to its first response byte, next to a bare start of the same app on the
// host, with a per-stage breakdown from kumo's own instance timings. >= 20 trials.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, median, percentile, ROOT, startKumo, table } from './lib.mjs';

const args = process.argv.slice(2);
const runtime = args.includes('--runtime') ? args[args.indexOf('--runtime') + 1] : 'process';
const TRIALS = Number(process.env.TRIALS ?? 20);
const image = process.env.KUMO_BENCH_IMAGE; // for container runtimes: an image already in kumo's registry

function firstByte(port, host, path = '/') {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {}, agent: false }, (res) => {
      res.once('data', () => {
        const ms = performance.now() - t0;
        res.resume();
        res.on('end', () => resolve({ ms, status: res.statusCode }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });
}

/** The peer: spawn the app on the host and poll until it answers, like a supervisor would. */
async function bareStart() {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'examples', 'hello', 'server.js')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  while (!(await canConnect(port))) await new Promise((r) => setTimeout(r, 1));
  const { ms: fb } = await firstByte(port);
  const total = performance.now() - t0;
  child.kill('SIGKILL');
  return { total, firstByteAfterListen: fb };
}

async function instances(kumo, token) {
  const r = await fetch(`${kumo.url}/api/services/cold/instances`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.json()).items;
}

const kumo = await startKumo(['--runtime', runtime, '--idle-grace', '300ms', '--scale-tick', '100ms', '--stop-grace', '1s']);
const token = kumo.cli(['auth', 'print-access-token']).trim();
const deployArgs = image ? ['--image', image] : ['--source', join(ROOT, 'examples', 'hello')];
kumo.cli(['run', 'deploy', 'cold', ...deployArgs, '--allow-unauthenticated', '--format', 'json']);
const host = `cold.localhost:${kumo.port}`;

const kumoRuns = [];
const bareRuns = [];
try {
  for (let i = 0; i < TRIALS; i++) {
    // wait for zero
    const deadline = Date.now() + 15_000;
    while ((await instances(kumo, token)).length > 0) {
      if (Date.now() > deadline) throw new Error('the service did not scale to zero');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const { ms, status } = await firstByte(kumo.port, host);
    if (status !== 200) throw new Error(`cold request answered ${status}`);
    const inst = (await instances(kumo, token))[0];
    const t = inst?.timings ?? {};
    kumoRuns.push({
      total: ms,
      queue: (t.requestedAt ?? t0) - t0,
      prepare: (t.preparedAt ?? t.requestedAt) - t.requestedAt,
      spawn: (t.spawnedAt ?? t.preparedAt) - (t.preparedAt ?? t.requestedAt),
      listen: (t.readyAt ?? t.spawnedAt) - t.spawnedAt,
      proxy: t0 + ms - (t.readyAt ?? t0 + ms),
    });
    bareRuns.push(await bareStart());
    process.stderr.write(`trial ${i + 1}: kumo ${ms.toFixed(1)} ms, bare ${bareRuns.at(-1).total.toFixed(1)} ms\n`);
  }
} finally {
  await kumo.stop();
}

const col = (runs, k) => runs.map((r) => r[k]);
const overhead = kumoRuns.map((r, i) => r.total - bareRuns[i].total);
console.log(`\ncold start to first byte, runtime ${runtime}, ${TRIALS} trials (Node ${process.version})\n`);
console.log(
  table(
    ['', 'p50 ms', 'p95 ms'],
    [
      ['kumo: request at zero → first byte', median(col(kumoRuns, 'total')).toFixed(1), percentile(col(kumoRuns, 'total'), 95).toFixed(1)],
      ['bare process: spawn → first byte', median(col(bareRuns, 'total')).toFixed(1), percentile(col(bareRuns, 'total'), 95).toFixed(1)],
      ['overhead (kumo − bare, paired)', median(overhead).toFixed(1), percentile(overhead, 95).toFixed(1)],
    ],
  ),
);
console.log('\nbreakdown of kumo cold starts (medians, ms; clocks of two processes, ±1 ms):');
console.log(
  table(
    ['routing + queueing', 'bundle/rootfs/network', 'spawn', 'until listening', 'first proxied byte'],
    [['queue', 'prepare', 'spawn', 'listen', 'proxy'].map((k) => median(col(kumoRuns, k)).toFixed(1))],
  ),
);
console.log(`\naim: overhead <= 15 ms at p50 and <= 30 ms at p95`);
