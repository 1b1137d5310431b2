/**
 * `npm run bench:registry-memory`: stream one 1 GiB layer (POST, one PATCH, PUT?digest) into kumo's
 * registry and into Debian's docker-registry, alternating, and print each server's resident-memory
 * growth during the upload and its throughput. Options (env): BENCH_RUNS (5), BENCH_BLOB_MIB (1024).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, closeSync, writeSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken } from '../src/auth/tokens.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MIB = Number(process.env.BENCH_BLOB_MIB ?? 1024);
const repoRoot = process.env.KUMO_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Server {
  name: string;
  base: string;
  auth?: string;
  pid: number;
  stop(): Promise<void>;
}

function startServer(name: string, cmd: string, args: string[]): Promise<{ child: ReturnType<typeof spawn>; host: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let seen = '';
    const onData = (c: Buffer): void => {
      seen += c.toString();
      const m = /listening on (?:http:\/\/)?(127\.0\.0\.1:\d+)/.exec(seen);
      if (m?.[1]) {
        child.stdout?.resume();
        child.stderr?.resume();
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        res({ child, host: m[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => rej(new Error(`${name} exited ${code}: ${seen}`)));
  });
}

function stopper(child: ReturnType<typeof spawn>): () => Promise<void> {
  return () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

async function kumo(dir: string): Promise<Server> {
  // The whole kumo server: the registry as users reach it, through the front door.
  const { child, host } = await startServer('kumo', process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'server', '--home', dir, '--port', '0', '--api-port', '0', '--runtime', 'process']);
  const token = mintToken(loadOrCreateKeys(join(dir, 'keys')), { sub: 'bench', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now(), ttlSec: 3600 });
  return { name: 'kumo', base: `http://${host}`, auth: `Bearer ${token}`, pid: child.pid ?? 0, stop: stopper(child) };
}

async function reference(dir: string): Promise<Server> {
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog: {level: info}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'data')}}\nhttp:\n  addr: 127.0.0.1:0\n  secret: bench\n`);
  const { child, host } = await startServer('docker-registry', 'docker-registry', ['serve', config]);
  return { name: 'reference', base: `http://${host}`, pid: child.pid ?? 0, stop: stopper(child) };
}

function send(s: Server, method: string, url: string, body?: string): Promise<{ status: number; location: string }> {
  return new Promise((res, rej) => {
    const req = request(url.startsWith('http') ? url : `${s.base}${url}`, { method, headers: { ...(s.auth ? { authorization: s.auth } : {}), 'content-type': 'application/octet-stream' } }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0, location: r.headers.location ?? '' }));
    });
    req.on('error', rej);
    if (body) createReadStream(body, { highWaterMark: 1024 * 1024 }).pipe(req);
    else req.end();
  });
}

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function upload(s: Server, file: string, digest: string): Promise<{ ms: number; growthMiB: number }> {
  const baseline = rssKiB(s.pid);
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, rssKiB(s.pid))), 5);
  const t0 = performance.now();
  const start = await send(s, 'POST', '/v2/bench/big/blobs/uploads/');
  const patch = await send(s, 'PATCH', start.location, file);
  const loc = patch.location;
  const put = await send(s, 'PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`);
  const ms = performance.now() - t0;
  clearInterval(timer);
  if (put.status !== 201) throw new Error(`${s.name}: PUT answered ${put.status}`);
  return { ms, growthMiB: (Math.max(peak, rssKiB(s.pid)) - baseline) / 1024 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

const scratch = mkdtempSync(join(tmpdir(), 'kumo-bench-memory-'));
try {
  const file = join(scratch, 'layer.bin');
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  for (let i = 0; i < MIB / 4; i++) {
    const chunk = randomBytes(4 * 1024 * 1024);
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const digest = `sha256:${hash.digest('hex')}`;
  console.log(`one ${MIB} MiB blob, streamed in one PATCH; ${RUNS} alternating runs each`);
  const results: Record<string, { ms: number; growthMiB: number }[]> = { kumo: [], reference: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const make of i % 2 ? [reference, kumo] : [kumo, reference]) {
      const dir = mkdtempSync(join(scratch, 'store-'));
      const s = await make(dir);
      try {
        const r = await upload(s, file, digest);
        results[s.name]?.push(r);
        console.log(`run ${i + 1} ${s.name.padEnd(9)} ${(r.ms / 1000).toFixed(2)} s (${((MIB * 1.048576) / (r.ms / 1000)).toFixed(0)} MB/s)  RSS +${r.growthMiB.toFixed(1)} MiB`);
      } finally {
        await s.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  for (const name of ['kumo', 'reference']) {
    const rs = results[name] ?? [];
    console.log(
      `${name.padEnd(9)} median ${((MIB * 1.048576) / (median(rs.map((r) => r.ms)) / 1000)).toFixed(0)} MB/s, RSS growth median ${median(rs.map((r) => r.growthMiB)).toFixed(1)} MiB, max ${Math.max(...rs.map((r) => r.growthMiB)).toFixed(1)} MiB`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
