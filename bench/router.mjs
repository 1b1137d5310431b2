// npm run bench:router — wrk (32 connections) against the hello app directly, through kumo's
// router, and through nginx as a keep-alive reverse proxy to the same app, alternating, five
// rounds; prints medians of req/s, p50 and p99 and the ratio kumo/nginx.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const kumo = await startKumo(['--runtime', 'process', '--idle-grace', '10m']);
kumo.cli(['run', 'deploy', 'hello', '--source', join(ROOT, 'examples', 'hello'), '--allow-unauthenticated', '--min-instances', '1', '--format', 'json']);
const host = `hello.localhost:${kumo.port}`;
await waitHttp(`http://127.0.0.1:${kumo.port}/`, { host });

const targets = {
  direct: { url: `http://127.0.0.1:${appPort}/`, headers: [] },
  kumo: { url: `http://127.0.0.1:${kumo.port}/`, headers: [`Host: ${host}`] },
  nginx: { url: `http://127.0.0.1:${nginxPort}/`, headers: [] },
};
const results = { direct: [], kumo: [], nginx: [] };
try {
  // warm-up
  for (const t of Object.values(targets)) wrk(t.url, { seconds: 2, headers: t.headers });
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? ['direct', 'kumo', 'nginx'] : ['nginx', 'kumo', 'direct'];
    for (const name of order) {
      const r = wrk(targets[name].url, { seconds: SECONDS, headers: targets[name].headers });
      if (r.non2xx > 0 || r.errors) console.error(`  ${name}: ${r.non2xx} non-2xx, ${r.errors ?? 'no socket errors'}`);
      results[name].push(r);
      console.error(`round ${round} ${name.padEnd(6)} ${r.rps.toFixed(0)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
    }
  }
} finally {
  await kumo.stop();
  nginx.kill();
  app.kill();
}

const med = (name, key) => median(results[name].map((r) => r[key]));
const rows = ['direct', 'nginx', 'kumo'].map((n) => [n, med(n, 'rps').toFixed(0), med(n, 'p50').toFixed(2), med(n, 'p99').toFixed(2)]);
console.log(`\nwrk -t1 -c32 -d${SECONDS}s, ${ROUNDS} alternating rounds, medians (Node ${process.version}, ${spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim()})\n`);
console.log(table(['path', 'req/s', 'p50 ms', 'p99 ms'], rows));
const ratio = med('kumo', 'rps') / med('nginx', 'rps');
const p99ratio = med('kumo', 'p99') / med('nginx', 'p99');
console.log(`\nkumo/nginx throughput: ${ratio.toFixed(2)}x (aim >= 0.8x); kumo/nginx p99: ${p99ratio.toFixed(2)}x (aim <= 2x); nginx/direct: ${(med('nginx', 'rps') / med('direct', 'rps')).toFixed(2)}x`);
