// Shared helpers for kumo's benchmark scripts: start a kumo server, run the CLI, wrk, medians.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const KUMO = join(ROOT, 'dist', 'cli', 'main.js');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitHttp(url, headers = {}, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { headers });
      if (r.status < 500) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startKumo(flags = [], env = {}, bin = KUMO) {
  const home = mkdtempSync(join(tmpdir(), 'kumo-bench-'));
  const child = spawn(process.execPath, [bin, 'server', '--port', '0', '--api-port', '0', '--home', home, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const url = await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`kumo did not start: ${out}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        res(m[1]);
      }
    });
    child.once('exit', (c) => rej(new Error(`kumo exited ${c}: ${out}`)));
  });
  const port = Number(new URL(url).port);
  const cli = (args) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, KUMO_HOME: home, KUMO_SERVER: url }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kumo ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const stop = () =>
    new Promise((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
    });
  return { home, url, port, cli, stop, output: () => out, child };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Run wrk and read req/s, p50 and p99 (ms). */
export function wrk(url, { connections = 32, seconds = 6, headers = [] } = {}) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(r.stdout)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(r.stdout)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(r.stdout)?.[0];
  return { rps, p50, p99, non2xx, errors };
}

export function need(cmd, pkg) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status !== 0) {
    console.error(`${cmd} is not installed: apt-get install -y ${pkg}`);
    process.exit(2);
  }
}

export function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(w[i])).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}
