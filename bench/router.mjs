// npm run bench:router — wrk (32 connections) against the hello app directly, through kumo's
// router, and through nginx as a keep-alive reverse proxy to the same app, alternating, five
// rounds; prints medians of req/s, p50 and p99, the proxy's own CPU time per request (from
// /proc: what the proxy costs whatever else shares the cores) and the ratios kumo/nginx.
// KUMO_BEFORE=DIR adds a fourth target: the kumo built in DIR (DIR/dist/cli/main.js), for a
// before/after comparison in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median, need, ROOT, startKumo, table, waitHttp, wrk } from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 6);
need('wrk', 'wrk');
need('nginx', 'nginx');

const appPort = await freePort();
const app = spawn(process.execPath, [join(ROOT, 'examples', 'hello', 'server.js')], { env: { ...process.env, PORT: String(appPort) }, stdio: 'ignore' });
await waitHttp(`http://127.0.0.1:${appPort}/`);

const nginxPort = await freePort();
const ndir = mkdtempSync(join(tmpdir(), 'kumo-bench-nginx-'));
writeFileSync(
  join(ndir, 'nginx.conf'),
  `worker_processes 1;
daemon off;
pid ${ndir}/nginx.pid;
error_log ${ndir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${ndir}/body; proxy_temp_path ${ndir}/proxy; fastcgi_temp_path ${ndir}/fcgi; uwsgi_temp_path ${ndir}/uwsgi; scgi_temp_path ${ndir}/scgi;
  upstream app { server 127.0.0.1:${appPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }
  }
}
`,
);
const nginx = spawn('nginx', ['-p', ndir, '-c', join(ndir, 'nginx.conf')], { stdio: 'ignore' });
await waitHttp(`http://127.0.0.1:${nginxPort}/`);

async function kumoServing(bin) {
  const k = await startKumo(['--runtime', 'process', '--idle-grace', '10m'], {}, bin);
  k.cli(['run', 'deploy', 'hello', '--source', join(ROOT, 'examples', 'hello'), '--allow-unauthenticated', '--min-instances', '1', '--format', 'json']);
  const host = `hello.localhost:${k.port}`;
  await waitHttp(`http://127.0.0.1:${k.port}/`, { host });
  return { k, target: { url: `http://127.0.0.1:${k.port}/`, headers: [`Host: ${host}`] } };
}
const kumo = await kumoServing();
const before = process.env.KUMO_BEFORE ? await kumoServing(join(process.env.KUMO_BEFORE, 'dist', 'cli', 'main.js')) : undefined;

/** CPU time (ms) the processes used so far, from /proc (their own threads, not their children). */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}
const nginxPids = () => [nginx.pid, ...spawnSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)];

const targets = {
  direct: { url: `http://127.0.0.1:${appPort}/`, headers: [], pids: () => [] },
  kumo: { ...kumo.target, pids: () => [kumo.k.child.pid] },
  nginx: { url: `http://127.0.0.1:${nginxPort}/`, headers: [], pids: nginxPids },
  ...(before ? { before: { ...before.target, pids: () => [before.k.child.pid] } } : {}),
};
const results = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
try {
  // warm-up
  for (const t of Object.values(targets)) wrk(t.url, { seconds: 2, headers: t.headers });
  for (let round = 1; round <= ROUNDS; round++) {
    const names = Object.keys(targets);
    const order = round % 2 ? names : [...names].reverse();
    for (const name of order) {
      const pids = targets[name].pids();
      const cpu0 = cpuMs(pids);
      const r = wrk(targets[name].url, { seconds: SECONDS, headers: targets[name].headers });
      // the proxy's CPU per request: what the proxy itself costs, whatever else shares the cores
      r.cpuUs = pids.length ? ((cpuMs(pids) - cpu0) * 1000) / (r.rps * SECONDS) : NaN;
      if (r.non2xx > 0 || r.errors) console.error(`  ${name}: ${r.non2xx} non-2xx, ${r.errors ?? 'no socket errors'}`);
      results[name].push(r);
      console.error(`round ${round} ${name.padEnd(6)} ${r.rps.toFixed(0)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  proxy CPU ${r.cpuUs.toFixed(1)} us/req`);
    }
  }
} finally {
  await kumo.k.stop();
  await before?.k.stop();
  nginx.kill();
  app.kill();
}

const med = (name, key) => median(results[name].map((r) => r[key]));
const rows = ['direct', 'nginx', 'kumo', ...(before ? ['before'] : [])].map((n) => [n, med(n, 'rps').toFixed(0), med(n, 'p50').toFixed(2), med(n, 'p99').toFixed(2), n === 'direct' ? '-' : med(n, 'cpuUs').toFixed(1)]);
console.log(`\nwrk -t1 -c32 -d${SECONDS}s, ${ROUNDS} alternating rounds, medians (Node ${process.version}, ${spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim()})\n`);
console.log(table(['path', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU us/req'], rows));
const ratio = med('kumo', 'rps') / med('nginx', 'rps');
const p99ratio = med('kumo', 'p99') / med('nginx', 'p99');
console.log(`\nkumo/nginx throughput: ${ratio.toFixed(2)}x (aim >= 0.8x); kumo/nginx p99: ${p99ratio.toFixed(2)}x (aim <= 2x); nginx/direct: ${(med('nginx', 'rps') / med('direct', 'rps')).toFixed(2)}x`);
console.log(`proxy CPU per request, kumo/nginx: ${(med('kumo', 'cpuUs') / med('nginx', 'cpuUs')).toFixed(2)}x`);
if (before) console.log(`before (${process.env.KUMO_BEFORE}) /nginx throughput: ${(med('before', 'rps') / med('nginx', 'rps')).toFixed(2)}x; p99: ${(med('before', 'p99') / med('nginx', 'p99')).toFixed(2)}x`);
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
