/**
 * `kill -9` of a real `kumo server --runtime runc` with instances running (one frozen) and a
 * container held ready: its containers outlive it. A server started again on the same home removes
 * every one of them (no container, bundle, mount, cgroup, network namespace or veth of the old
 * server is left) and the service answers again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, instances, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { deployImage, finishRunc, pushNodeApp, runcLeftovers, runcServerSkipReason, runcTag, startRuncKumo } from './harness.js';

const skip = await runcServerSkipReason();
if (skip) console.log(`container orphan tests on runc skipped: ${skip}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Host-side identities that a new object of the same name would not share. */
function identities(home: string) {
  const left = runcLeftovers(home);
  const tag = runcTag(home);
  const vethIndexes = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(` k${tag}-`))
    .map((l) => Number(l.split(':')[0]));
  const pids = left.bundles.flatMap((b) => {
    const f = join(home, 'run', 'runc', 'bundles', b, 'pid');
    return existsSync(f) ? [Number(readFileSync(f, 'utf8'))] : [];
  });
  return { ...left, vethIndexes, pids };
}

describe.skipIf(Boolean(skip))('orphans of a runc server killed with -9', () => {
  let k: KumoServer & { cidr: string };
  let again: KumoServer | undefined;
  afterAll(async () => {
    await again?.stop();
    // Whatever a failed run left (a -9 leaves everything), a last server on the home removes.
    if (k) await finishRunc(k);
  });

  it('are all removed by the next server on the same home, which serves again', async () => {
    k = await startRuncKumo(['--idle-grace', '30s']);
    const { ref } = await pushNodeApp(k, 'orphans/app:v1');
    deployImage(k, 'survivor', ref, ['--min-instances', '2']);
    expect((await call(k, 'survivor.localhost', '/')).status).toBe(200);
    await waitFor('two instances, frozen when idle', () => instances(k, 'survivor'), (l) => l.length === 2 && l.some((i) => (i as { frozen?: boolean }).frozen === true), 20_000);
    // The runtime holds a container of this shape ready shortly after an instance is up.
    await waitFor('a container held ready', () => identities(k.home).bundles.length, (n) => n >= 3, 10_000);

    k.child.kill('SIGKILL');
    await new Promise((r) => (k.child.exitCode !== null || k.child.signalCode !== null ? r(undefined) : k.child.once('exit', r)));
    const old = identities(k.home);
    // The server is gone; its containers are not.
    expect(old.pids.length).toBeGreaterThanOrEqual(2);
    expect(old.pids.every(alive)).toBe(true);
    expect(old.cgroups.length).toBeGreaterThanOrEqual(3);
    expect(old.netns.length).toBeGreaterThanOrEqual(3);
    expect(old.vethIndexes.length).toBe(old.netns.length);
    expect(old.mounts.length).toBeGreaterThanOrEqual(3);

    again = await startRuncKumo(['--idle-grace', '30s'], k.home, k.cidr);
    expect(again.output()).toMatch(/removed \d+ instance\(s\) left behind by an earlier server/);
    expect((await call(again, 'survivor.localhost', '/')).status).toBe(200);
    await waitFor('min instances again', () => instances(again as KumoServer, 'survivor'), (l) => l.length === 2, 20_000);

    const now = identities(k.home);
    for (const id of old.bundles) {
      expect(now.bundles, 'bundle').not.toContain(id);
      expect(now.containers, 'runc state').not.toContain(id);
      expect(now.cgroups, 'cgroup').not.toContain(id);
      expect(now.mounts.filter((m) => m.includes(`/${id}/`) || m.endsWith(`/${id}`)), 'mounts').toEqual([]);
    }
    // Namespace inode numbers are reused at once, interface indexes are not: every namespace of the
    // old server had a veth, and none of those is left.
    for (const ix of old.vethIndexes) expect(now.vethIndexes, 'veth (and its network namespace)').not.toContain(ix);
    for (const pid of old.pids) expect(alive(pid), `process ${pid}`).toBe(false);

    await again.stop();
    again = undefined;
    expect(runcLeftovers(k.home)).toEqual({ mounts: [], cgroups: [], netns: [], veths: [], bundles: [], containers: [] });
  });
});
