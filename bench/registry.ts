/**
 * `npm run bench:registry`: push then pull one image (>= 150 MB in several layers of random data,
 * made offline as an OCI layout) with skopeo, against kumo's registry and against Debian's
 * `docker-registry` (distribution 2.8, the reference implementation), alternating which goes first,
 * on loopback. Each run gets fresh storage and a fresh server. Prints per-run times, median MB/s
 * both ways, the ratios, and kumo's resident-memory growth during the push.
 *
 * Options (env): BENCH_RUNS (default 5), BENCH_LAYERS (3), BENCH_LAYER_MB (50).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken } from '../src/auth/tokens.js';
import { randomImage, writeOciLayout } from '../test/registry/oci-layout.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LAYERS = Number(process.env.BENCH_LAYERS ?? 3);
const LAYER_MB = Number(process.env.BENCH_LAYER_MB ?? 50);
const repoRoot = process.env.KUMO_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const kumoJs = join(repoRoot, 'dist', 'cli', 'main.js');

interface Target {
  name: string;
  host: string;
  creds?: string;
  pid: number;
  stop(): Promise<void>;
}

interface Sample {
  target: string;
  pushMs: number;
  pullMs: number;
  rssGrowthMiB?: number;
}

function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const onData = (c: Buffer): void => {
      seen += c.toString();
      const m = re.exec(seen);
      if (m) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolvePromise(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${seen.slice(-2000)}`)));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

async function startKumo(dir: string): Promise<Target> {
  // The whole kumo server: the registry as users reach it, through the front door.
  const child = spawn(process.execPath, [kumoJs, 'server', '--home', dir, '--port', '0', '--api-port', '0', '--runtime', 'process'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /listening on http:\/\/(127\.0\.0\.1:\d+)/, 'kumo server');
  const keys = loadOrCreateKeys(join(dir, 'keys'));
  const token = mintToken(keys, { sub: 'bench', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now(), ttlSec: 3600 });
  return { name: 'kumo', host: m[1] ?? '', creds: `oauth2accesstoken:${token}`, pid: child.pid ?? 0, stop: stopper(child) };
}

async function startReference(dir: string): Promise<Target> {
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: info}',
      'storage:',
      `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
      '  delete: {enabled: true}',
      'http:',
      '  addr: 127.0.0.1:0',
      '  secret: kumo-bench-not-secret',
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /listening on (127\.0\.0\.1:\d+)/, 'docker-registry');
  // Keep draining its log so a full pipe never stalls it.
  child.stdout?.resume();
  child.stderr?.resume();
  return { name: 'reference', host: m[1] ?? '', pid: child.pid ?? 0, stop: stopper(child) };
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function once(target: Target, layout: string, scratch: string): Promise<Sample> {
  const creds = (flag: string): string[] => (target.creds ? [flag, target.creds] : []);
  const baseline = rssKiB(target.pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(target.pid));
  }, 5);
  const t0 = performance.now();
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...creds('--dest-creds'), `oci:${layout}:bench`, `docker://${target.host}/bench/image:v1`]);
  const pushMs = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(target.pid));
  const out = join(scratch, `pulled-${target.name}`);
  const t1 = performance.now();
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', ...creds('--src-creds'), `docker://${target.host}/bench/image:v1`, `oci:${out}:v1`]);
  const pullMs = performance.now() - t1;
  rmSync(out, { recursive: true, force: true });
  return { target: target.name, pushMs, pullMs, ...(target.name === 'kumo' ? { rssGrowthMiB: (peak - baseline) / 1024 } : {}) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'kumo-bench-registry-'));
  try {
    const image = await randomImage(LAYERS, LAYER_MB * 1_000_000);
    const layout = join(scratch, 'layout');
    writeOciLayout(layout, image, 'bench');
    const bytes = [image.manifest, image.config, ...image.layers].reduce((n, b) => n + b.size, 0);
    const mb = bytes / 1e6;
    console.log(`image: ${LAYERS} layers, ${mb.toFixed(1)} MB; ${RUNS} alternating runs each; skopeo ${(await run('skopeo', ['--version'])).stdout.trim()}`);
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? [startKumo, startReference] : [startReference, startKumo];
      for (const start of order) {
        const dir = mkdtempSync(join(scratch, 'store-'));
        const target = await start(dir);
        try {
          const s = await once(target, layout, scratch);
          samples.push(s);
          console.log(
            `run ${i + 1} ${s.target.padEnd(9)} push ${s.pushMs.toFixed(0).padStart(5)} ms (${(mb / (s.pushMs / 1000)).toFixed(0)} MB/s)  pull ${s.pullMs
              .toFixed(0)
              .padStart(5)} ms (${(mb / (s.pullMs / 1000)).toFixed(0)} MB/s)${s.rssGrowthMiB !== undefined ? `  rss +${s.rssGrowthMiB.toFixed(1)} MiB during push` : ''}`,
          );
        } finally {
          await target.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    const rate = (name: string, key: 'pushMs' | 'pullMs'): number => mb / (median(samples.filter((s) => s.target === name).map((s) => s[key])) / 1000);
    const kPush = rate('kumo', 'pushMs');
    const rPush = rate('reference', 'pushMs');
    const kPull = rate('kumo', 'pullMs');
    const rPull = rate('reference', 'pullMs');
    const rss = samples.filter((s) => s.rssGrowthMiB !== undefined).map((s) => s.rssGrowthMiB ?? 0);
    console.log('');
    console.log('median MB/s      push    pull');
    console.log(`kumo           ${kPush.toFixed(0).padStart(6)}  ${kPull.toFixed(0).padStart(6)}`);
    console.log(`docker-registry${rPush.toFixed(0).padStart(6)}  ${rPull.toFixed(0).padStart(6)}`);
    console.log(`ratio kumo/ref ${(kPush / rPush).toFixed(2).padStart(6)}x ${(kPull / rPull).toFixed(2).padStart(6)}x`);
    console.log(`kumo RSS growth during push: median ${median(rss).toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)} MiB (budget 64 MiB)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
