/**
 * Cloud Run's resource semantics on the runc runtime, through a real server: a container that
 * eats past `--memory` is killed and says so in logs and revision status; a CPU-bound request gets
 * what `--cpu` allows (measured inside the app); an idle instance is frozen and thawed by the next
 * request; `--no-cpu-throttling` keeps it running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../src/serving/revision.types.js';
import { call, instances, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { deployImage, finishRunc, NOTHING_LEFT, pushNodeApp, runcServerSkipReason, startRuncKumo } from './harness.js';

const skip = await runcServerSkipReason();
if (skip) console.log(`container limit tests on runc skipped: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(Boolean(skip))('resource limits on the runc runtime', () => {
  let k: KumoServer & { cidr: string };
  let ref = '';

  beforeAll(async () => {
    k = await startRuncKumo();
    ref = (await pushNodeApp(k, 'limits/app:v1')).ref;
  });

  afterAll(async () => {
    if (!k) return;
    // A clean stop leaves nothing of any instance behind.
    expect(await finishRunc(k)).toEqual(NOTHING_LEFT);
  });

  it('kills a container that exceeds --memory and says "exceeded memory limit of 128 MiB" in logs and revision status', async () => {
    deployImage(k, 'hungry', ref, ['--memory', '128Mi']);
    const r = await call(k, 'hungry.localhost', '/eat', { timeoutMs: 30_000 });
    // The instance died with the request in flight: kumo answers for it, it never hangs.
    expect(r.status).toBeGreaterThanOrEqual(500);
    const logs = await waitFor(
      'the OOM kill in the logs',
      () => k.cli(['run', 'services', 'logs', 'read', 'hungry']).stdout,
      (out) => out.includes('exceeded memory limit of 128 MiB'),
      20_000,
      250,
    );
    expect(logs).toMatch(/was terminated: exceeded memory limit of 128 MiB/);
    const revName = (JSON.parse(k.cli(['run', 'services', 'describe', 'hungry', '--format', 'json']).stdout) as { status: { latestReadyRevisionName: string } }).status.latestReadyRevisionName;
    const rev = JSON.parse(k.cli(['run', 'revisions', 'describe', revName, '--format', 'json']).stdout) as Revision;
    const healthy = rev.status.conditions.find((c) => c.type === 'ContainerHealthy');
    expect(healthy).toMatchObject({ status: 'False', reason: 'OOMKilled' });
    expect(healthy?.message).toContain('exceeded memory limit of 128 MiB');
    const text = k.cli(['run', 'revisions', 'describe', revName]).stdout;
    expect(text).toContain('exceeded memory limit of 128 MiB');
    // The revision still serves: the next request gets a new instance; once that one has served
    // and ended the normal way, the revision is healthy again.
    const next = await call(k, 'hungry.localhost', '/');
    expect(next.status).toBe(200);
    await waitFor('hungry at zero', () => instances(k, 'hungry'), (l) => l.length === 0, 20_000);
    const healed = JSON.parse(k.cli(['run', 'revisions', 'describe', revName, '--format', 'json']).stdout) as Revision;
    expect(healed.status.conditions.find((c) => c.type === 'ContainerHealthy')?.status).toBe('True');
  });

  it('gives a CPU-bound request what --cpu 0.5 allows, measured inside the app, against --cpu 1', async () => {
    deployImage(k, 'half', ref, ['--cpu', '0.5', '--concurrency', '1']);
    deployImage(k, 'whole', ref, ['--cpu', '1']);
    const burn = async (service: string) => JSON.parse((await call(k, `${service}.localhost`, '/burn?ms=1500')).body) as { cpuMs: number; wallMs: number };
    const half = await burn('half');
    const whole = await burn('whole');
    const halfShare = half.cpuMs / half.wallMs;
    const wholeShare = whole.cpuMs / whole.wallMs;
    // CFS quota of 50 ms per 100 ms period: at most half a CPU (plus one period of slack).
    expect(halfShare).toBeLessThan(0.6);
    expect(halfShare).toBeGreaterThan(0.2);
    // the same measurement sees more when the limit allows more (the margin leaves room for a busy machine)
    expect(wholeShare).toBeGreaterThan(halfShare * 1.15);
  });

  it('freezes an idle instance and thaws it for the next request', async () => {
    deployImage(k, 'sleepy', ref, ['--min-instances', '1']);
    await call(k, 'sleepy.localhost', '/');
    await waitFor('sleepy frozen', () => instances(k, 'sleepy'), (l) => l.length === 1 && (l[0] as { frozen?: boolean }).frozen === true, 10_000, 50);
    const before = (JSON.parse((await call(k, 'sleepy.localhost', '/ticks')).body) as { ticks: number }).ticks;
    await waitFor('sleepy frozen again', () => instances(k, 'sleepy'), (l) => (l[0] as { frozen?: boolean } | undefined)?.frozen === true, 10_000, 20);
    await sleep(1000);
    const after = JSON.parse((await call(k, 'sleepy.localhost', '/ticks')).body) as { ticks: number };
    // A 10 ms timer would tick about 100 times in that second; frozen, it does not run at all
    // (a tick or two on each side of the freeze).
    expect(after.ticks - before).toBeLessThan(20);
  });

  it('keeps an instance running between requests with --no-cpu-throttling', async () => {
    deployImage(k, 'busy', ref, ['--min-instances', '1', '--no-cpu-throttling']);
    const before = (JSON.parse((await call(k, 'busy.localhost', '/ticks')).body) as { ticks: number }).ticks;
    await sleep(1000);
    const after = (JSON.parse((await call(k, 'busy.localhost', '/ticks')).body) as { ticks: number }).ticks;
    expect(after - before).toBeGreaterThan(50);
    const list = await instances(k, 'busy');
    expect(list.every((i) => (i as { frozen?: boolean }).frozen !== true)).toBe(true);
  });
});
