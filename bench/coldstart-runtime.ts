/**
 * Runtime-level cold start: from `Runtime.start` to the first byte of an HTTP response from the
 * Node.js hello image, next to a bare `node hello.js` on the host measured in the same run,
 * alternating, with a per-stage breakdown. Also: the cost of a thaw on the request path, and the
 * memory kumo spends per idle instance beyond the app's own.
 *
 *   npm run bench:coldstart-runtime -- --runtime runc|docker|process [--trials 20] [--no-warm]
 *
 * `--no-warm` makes runc create every container on the spot (as for a revision's first instance).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../src/runtime/process/proc.js';
import { waitForListening } from '../src/runtime/probe.js';
import type { Instance, InstanceSpec, Runtime } from '../src/runtime/runtime.js';
import { makeRuntime } from './coldstart-runtimes.js';

const HELLO = "require('http').createServer((q, s) => s.end('hello')).listen(Number(process.env.PORT), '0.0.0.0');\n";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Milliseconds until the first byte of a GET / arrives. */
function firstByte(host: string, port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false }, (res) => {
      res.once('data', () => resolve(performance.now() - t0));
      res.resume();
    });
    req.on('error', reject);
    req.end();
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))] ?? NaN;
}

const f = (x: number) => x.toFixed(1).padStart(7);

async function bareStart(dir: string): Promise<{ totalMs: number; listenMs: number }> {
  const t0 = performance.now();
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, [join(dir, 'hello.js')], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: 'ignore' });
  const abort = new AbortController();
  child.once('exit', () => abort.abort());
  await waitForListening({ host: '127.0.0.1', port, timeoutMs: 10_000, signal: abort.signal });
  const listenMs = performance.now() - t0;
  await firstByte('127.0.0.1', port);
  const totalMs = performance.now() - t0;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  return { totalMs, listenMs };
}

interface Trial {
  totalMs: number;
  prepare: number;
  create: number;
  listen: number;
  proxied: number;
}

async function kumoStart(rt: Runtime, spec: () => InstanceSpec): Promise<Trial> {
  const t0 = performance.now();
  const inst = await rt.start(spec(), { log: () => undefined });
  await inst.ready;
  const readyAt = performance.now();
  await firstByte(inst.endpoint.host, inst.endpoint.port);
  const totalMs = performance.now() - t0;
  const t = inst.timings;
  const trial = {
    totalMs,
    prepare: (t.preparedAt ?? t.requestedAt) - t.requestedAt,
    create: (t.spawnedAt ?? t.preparedAt ?? t.requestedAt) - (t.preparedAt ?? t.requestedAt),
    listen: (t.readyAt ?? 0) - (t.spawnedAt ?? t.preparedAt ?? t.requestedAt),
    proxied: totalMs - (readyAt - t0),
  };
  await rt.stop(inst.id, 1000);
  return trial;
}

async function thawCost(rt: Runtime, inst: Instance, rounds: number): Promise<{ thawUs: number; frozenReqMs: number; warmReqMs: number }> {
  const thawUs: number[] = [];
  const frozen: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < rounds; i++) {
    warm.push(await firstByte(inst.endpoint.host, inst.endpoint.port));
    await rt.freeze(inst.id);
    await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await rt.thaw(inst.id);
    thawUs.push((performance.now() - t0) * 1000);
    await firstByte(inst.endpoint.host, inst.endpoint.port);
    frozen.push(performance.now() - t0);
  }
  return { thawUs: quantile(thawUs, 0.5), frozenReqMs: quantile(frozen, 0.5), warmReqMs: quantile(warm, 0.5) };
}

/** Proportional set size (kB) of a process, from smaps_rollup. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const kind = arg('runtime', 'runc');
  if (kind !== 'runc' && kind !== 'docker' && kind !== 'process') throw new Error('--runtime must be runc, docker or process');
  const trials = Number(arg('trials', '20'));
  const work = mkdtempSync(join(tmpdir(), 'kumo-bench-'));
  writeFileSync(join(work, 'hello.js'), HELLO);
  const setup = await makeRuntime(kind, work, HELLO);
  const { runtime: rt } = setup;
  try {
    // one unmeasured start of each warms the page cache and the layer cache
    await kumoStart(rt, setup.spec);
    await bareStart(work);
    const kumo: Trial[] = [];
    const bare: { totalMs: number; listenMs: number }[] = [];
    // Each measurement starts with the runtime idle: no container being prepared in the background.
    const settle = async () => {
      await setup.settled?.();
      await new Promise((r) => setTimeout(r, 300));
      await setup.settled?.();
    };
    for (let i = 0; i < trials; i++) {
      await settle();
      kumo.push(await kumoStart(rt, setup.spec));
      await settle();
      bare.push(await bareStart(work));
    }
    const col = (xs: number[]) => `${f(quantile(xs, 0.5))} ${f(quantile(xs, 0.95))}`;
    console.log(`cold start to first byte, Node.js hello, ${trials} alternating trials (ms: p50 p95)`);
    console.log(`  bare node on the host          ${col(bare.map((b) => b.totalMs))}`);
    console.log(`  kumo ${kind.padEnd(8)}                 ${col(kumo.map((k) => k.totalMs))}`);
    const over = kumo.map((k, i) => k.totalMs - (bare[i]?.totalMs ?? 0));
    console.log(`  overhead (paired trials)       ${col(over)}`);
    console.log(`  ${kind} stages: prepare (bundle, rootfs, netns, cgroup) ${col(kumo.map((k) => k.prepare))}`);
    console.log(`  ${kind} stages: runtime create to process exists         ${col(kumo.map((k) => k.create))}`);
    console.log(`  ${kind} stages: until listening                          ${col(kumo.map((k) => k.listen))}`);
    console.log(`  ${kind} stages: first response byte after ready          ${col(kumo.map((k) => k.proxied))}`);
    console.log(`  bare stages:  until listening                            ${col(bare.map((b) => b.listenMs))}`);
    console.log('  (queueing is 0 here: this bench calls the runtime directly, without the router)');

    const insts: Instance[] = [];
    for (let i = 0; i < 4; i++) {
      const inst = await rt.start(setup.spec(), { log: () => undefined });
      await inst.ready;
      insts.push(inst);
    }
    const first = insts[0];
    if (first) {
      const t = await thawCost(rt, first, 50);
      console.log(`thaw: ${t.thawUs.toFixed(0)} us for the thaw call; request after thaw ${t.frozenReqMs.toFixed(2)} ms vs never frozen ${t.warmReqMs.toFixed(2)} ms (p50 of 50)`);
    }
    const extra = await setup.overheadPids(insts.map((i) => i.id));
    if (extra) {
      const kb = extra.pids.reduce((a, p) => a + pssKb(p), 0) / insts.length;
      const appKb = extra.appPids.reduce((a, p) => a + pssKb(p), 0) / insts.length;
      console.log(`memory per idle instance: kumo's own ${(kb / 1024).toFixed(1)} MiB PSS (${extra.what}), the app ${(appKb / 1024).toFixed(1)} MiB PSS`);
    }
    const warm = setup.warmPids?.() ?? [];
    if (warm.length > 0) {
      const kb = warm.map((ps) => ps.reduce((a, p) => a + pssKb(p), 0));
      console.log(`memory per container held ready at its start gate (one per revision that has run): ${(quantile(kb, 0.5) / 1024).toFixed(1)} MiB PSS`);
    }
    for (const i of insts) await rt.stop(i.id, 1000);
  } finally {
    await setup.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
