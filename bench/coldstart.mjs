// npm run bench:coldstart [-- --runtime process|runc|docker] — time from a request to a service
// at zero instances to its first response byte, next to a bare start of the same app on the
// host, with a per-stage breakdown from kumo's own instance timings. >= 20 trials. For runc and
// docker: the Node.js hello image (built here from this machine's node, or KUMO_BENCH_IMAGE: any
// skopeo source such as oci:DIR:TAG) is pushed into the server's registry and deployed; then the
// cost of a thaw on the request path and the memory kumo keeps per idle instance.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHelloImage, freeCidr, instanceProcesses, pssKb, pushToKumo, startDockerd } from './containers.mjs';
import { freePort, median, percentile, ROOT, startKumo, table } from './lib.mjs';

const args = process.argv.slice(2);
const runtime = args.includes('--runtime') ? args[args.indexOf('--runtime') + 1] : 'process';
if (!['process', 'runc', 'docker'].includes(runtime)) throw new Error('--runtime must be process, runc or docker');
const TRIALS = Number(process.env.TRIALS ?? 20);
const container = runtime !== 'process';

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
  // The environment an app gets from kumo, not this shell's (NODE_EXTRA_CA_CERTS alone costs ~60 ms at start).
  const child = spawn(process.execPath, [join(ROOT, 'examples', 'hello', 'server.js')], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: 'ignore' });
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

const dockerd = runtime === 'docker' ? await startDockerd() : undefined;
const kumo = await startKumo(
  ['--runtime', runtime, '--idle-grace', '300ms', '--scale-tick', '100ms', '--stop-grace', '1s', ...(runtime === 'runc' ? ['--network-cidr', freeCidr()] : [])],
  dockerd ? { DOCKER_HOST: `unix://${dockerd.socket}` } : {},
);
const token = kumo.cli(['auth', 'print-access-token']).trim();
let deployArgs = ['--source', join(ROOT, 'examples', 'hello')];
const work = mkdtempSync(join(tmpdir(), 'kumo-bench-image-'));
if (container) {
  const source = process.env.KUMO_BENCH_IMAGE ?? (await buildHelloImage(work));
  deployArgs = ['--image', pushToKumo(kumo, source, 'bench/hello:v1')];
}
kumo.cli(['run', 'deploy', 'cold', ...deployArgs, '--allow-unauthenticated', '--format', 'json']);
const host = `cold.localhost:${kumo.port}`;

const kumoRuns = [];
const bareRuns = [];
const extraLines = [];
try {
  for (let i = 0; i < TRIALS; i++) {
    // wait for zero
    const deadline = Date.now() + 15_000;
    while ((await instances(kumo, token)).length > 0) {
      if (Date.now() > deadline) throw new Error('the service did not scale to zero');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Let the runtime finish its background work (runc prepares the next container after an exit).
    await new Promise((r) => setTimeout(r, container ? 400 : 100));
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
  await extras();
} finally {
  await kumo.stop();
  await dockerd?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(kumo.home, { recursive: true, force: true });
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
for (const l of extraLines) console.log(l);

/**
 * Thaw cost on the request path (runc freezes idle instances; docker and process do not) and the
 * memory kumo keeps per idle instance beyond the app's own, measured on two min-instance services.
 */
async function extras() {
  const ROUNDS = 50;
  kumo.cli(['run', 'deploy', 'frozen', ...deployArgs, '--allow-unauthenticated', '--min-instances', '1']);
  kumo.cli(['run', 'deploy', 'hot', ...deployArgs, '--allow-unauthenticated', '--min-instances', '1', '--no-cpu-throttling']);
  const frozen = [];
  const hot = [];
  for (let i = 0; i < ROUNDS; i++) {
    await new Promise((r) => setTimeout(r, 20));
    frozen.push((await firstByte(kumo.port, `frozen.localhost:${kumo.port}`)).ms);
    await new Promise((r) => setTimeout(r, 20));
    hot.push((await firstByte(kumo.port, `hot.localhost:${kumo.port}`)).ms);
  }
  const frozenNow = (await (await fetch(`${kumo.url}/api/services/frozen/instances`, { headers: { authorization: `Bearer ${token}` } })).json()).items;
  const freezes = frozenNow.some((x) => x.frozen);
  extraLines.push(
    `\nrequest to an idle instance through the router, ${ROUNDS} alternating rounds (ms, p50 / p95):`,
    `  CPU only while serving (the default):  ${median(frozen).toFixed(2)} / ${percentile(frozen, 95).toFixed(2)}${freezes ? ' (frozen while idle, thawed by the request)' : ''}`,
    `  --no-cpu-throttling (never frozen):     ${median(hot).toFixed(2)} / ${percentile(hot, 95).toFixed(2)}`,
    freezes
      ? `  thaw cost on the request path (p50 difference): ${(median(frozen) - median(hot)).toFixed(2)} ms`
      : `  thaw cost: none, the ${runtime} runtime does not freeze idle instances (only runc does)`,
  );
  if (!container) {
    extraLines.push('memory per idle instance: kumo keeps no process beside the app (it is a child of kumo server)');
    return;
  }
  const procs = [
    ...(await instanceProcesses(runtime, kumo.home, 'frozen', dockerd?.socket)),
    ...(await instanceProcesses(runtime, kumo.home, 'hot', dockerd?.socket)),
  ];
  const kb = (pids) => pids.reduce((a, p) => a + pssKb(p), 0);
  const kumoKb = procs.map((p) => kb(p.kumo));
  const appKb = procs.map((p) => kb(p.app));
  const what = runtime === 'runc' ? 'the shell wrapper and the foreground runc' : "containerd's shim (dockerd and containerd not counted)";
  extraLines.push(
    `memory per idle instance (PSS, ${procs.length} instances): kumo's own ${(median(kumoKb) / 1024).toFixed(1)} MiB (${what}), the app's ${(median(appKb) / 1024).toFixed(1)} MiB`,
  );
}
