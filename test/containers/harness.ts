/**
 * Shared set-up for container tests through a real `kumo server`: images built offline (the
 * runtime fixtures), pushed into the server's own registry with skopeo and a kumo access token,
 * deployed with the real CLI, and checks that nothing a runc instance holds is left behind.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ResolvedImage } from '../../src/runtime/runtime.js';
import { adminToken, KUMO_BIN, removeHome, startKumo } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { busyboxImage, nodeAppImage, nodeLayer, sharedLayout } from '../runtime/fixtures/images.js';
import type { OciLayout } from '../runtime/fixtures/oci-layout.js';
import { makeTar } from '../runtime/fixtures/tar.js';
import type { TarEntry } from '../runtime/fixtures/tar.js';
import { freeTestCidr, runcSkipReason } from '../runtime/fixtures/runc.js';
import { containerApp } from './app.js';
import { which } from '../helpers/tools.js';
const execFileAsync = promisify(execFile);


/** Why images cannot be pushed into kumo's registry here, or undefined. */
export function skopeoSkipReason(): string | undefined {
  return which('skopeo') ? undefined : 'skopeo is not installed (apt-get install skopeo)';
}

/** Why runc container tests through the server cannot run here, or undefined. */
export async function runcServerSkipReason(): Promise<string | undefined> {
  return skopeoSkipReason() ?? runcSkipReason();
}

export const layout: OciLayout = sharedLayout();

/** A server on the runc runtime with its own instance range and quick scaling. */
export async function startRuncKumo(flags: string[] = [], home?: string, cidr = freeTestCidr()): Promise<KumoServer & { cidr: string }> {
  const k = await startKumo(['--network-cidr', cidr, '--idle-grace', '500ms', '--scale-tick', '200ms', '--stop-grace', '2s', ...flags], home, { runtime: 'runc' });
  return Object.assign(k, { cidr });
}

/** `skopeo copy` an image from the test layout into kumo's registry as `REPO:TAG`; returns `localhost:PORT/REPO:TAG`. */
export async function pushImage(k: KumoServer, image: ResolvedImage, target: string): Promise<string> {
  const source = image.reference.replace(/^localhost\//, '');
  const dest = `localhost:${k.port}/${target}`;
  await execFileAsync('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${adminToken(k)}`, `oci:${layout.dir}:${source}`, `docker://${dest}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return dest;
}

/** The Node.js test app (app.ts), or another program, as an image in kumo's registry. */
export async function pushNodeApp(k: KumoServer, target: string, program = containerApp('v1')): Promise<{ ref: string; image: ResolvedImage }> {
  const image = await nodeAppImage(layout, program);
  return { ref: await pushImage(k, image, target), image };
}

export async function pushBusybox(k: KumoServer, target: string): Promise<{ ref: string; image: ResolvedImage }> {
  const image = await busyboxImage(layout);
  return { ref: await pushImage(k, image, target), image };
}

let layerSeq = 0;

/**
 * The Node.js test app with one more layer of `entries` on top (uncompressed, as given). Tagged
 * `tag` in the test layout; push it with `pushImage`.
 */
export async function appWithLayer(entries: TarEntry[], program = containerApp('v1')): Promise<ResolvedImage> {
  const base = await nodeLayer(layout);
  const app = layout.putBlob(await makeTar([{ name: 'app/', type: 'directory' }, { name: 'app/server.js', content: program }]));
  const extra = layout.putBlob(await makeTar(entries));
  const tag = `layered-${process.pid}-${++layerSeq}:v1`;
  return layout.addImage(tag, [base, { ...app, diffId: app.digest }, { ...extra, diffId: extra.digest }], {
    entrypoint: ['/usr/bin/node'],
    cmd: ['/app/server.js'],
    workingDir: '/app',
  });
}

/** The CLI against this server, without blocking (for deploys side by side). */
export async function cliAsync(k: KumoServer, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileAsync(process.execPath, [KUMO_BIN, ...args], { env: { ...process.env, KUMO_HOME: k.home, KUMO_SERVER: k.url }, timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `kumo run deploy NAME --image REF` (public); throws with the CLI's output when it fails. */
export function deployImage(k: KumoServer, name: string, ref: string, flags: string[] = []): string {
  const r = k.cli(['run', 'deploy', name, '--image', ref, '--allow-unauthenticated', ...flags]);
  if (r.code !== 0) throw new Error(`deploy ${name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The short tag the runc runtime of a kumo home names its cgroups, namespaces and veths with. */
export function runcTag(home: string): string {
  return createHash('sha256').update(resolve(join(home, 'run', 'runc'))).digest('hex').slice(0, 6);
}

/** What runc instances of this kumo home still hold on the host: processes, mounts, cgroups, namespaces, veths, bundles. */
export function runcLeftovers(home: string): { mounts: string[]; cgroups: string[]; netns: string[]; veths: string[]; bundles: string[]; containers: string[] } {
  const tag = runcTag(home);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${resolve(home)}/`));
  // Container ids with a cgroup under kumo's parent in any hierarchy (cpu and cpuacct may be one).
  const cgroupIds = new Set<string>();
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', h, `kumo-${tag}`);
    if (existsSync(dir)) for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) cgroupIds.add(d.name);
  }
  const cgroups = [...cgroupIds].sort();
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`kumo-${tag}-`)) : [];
  const veths = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+:\s+([^@:\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(`k${tag}-`));
  const bundlesDir = join(home, 'run', 'runc', 'bundles');
  const bundles = existsSync(bundlesDir) ? readdirSync(bundlesDir) : [];
  const runcRoot = join(home, 'run', 'runc', 'runc');
  const containers = existsSync(runcRoot) ? readdirSync(runcRoot) : [];
  return { mounts, cgroups, netns, veths, bundles, containers };
}

/** Instance cgroups only (the `kumo-<tag>` parents may stay while a server runs). */
export function leftoverCount(l: ReturnType<typeof runcLeftovers>): number {
  return l.mounts.length + l.cgroups.length + l.netns.length + l.veths.length + l.bundles.length + l.containers.length;
}

/**
 * Stop the server and report what its runc instances left on the host. Anything left is then
 * removed by a server started once more on the same home (so a failing test leaks nothing), and
 * the home is deleted.
 */
export async function finishRunc(k: KumoServer & { cidr: string }): Promise<ReturnType<typeof runcLeftovers>> {
  await k.stop();
  const left = runcLeftovers(k.home);
  if (leftoverCount(left) > 0) {
    const sweeper = await startRuncKumo([], k.home, k.cidr);
    await sweeper.stop();
  }
  removeHome(k);
  return left;
}

export const NOTHING_LEFT = { mounts: [], cgroups: [], netns: [], veths: [], bundles: [], containers: [] };

/** Stop the server; past `ms`, kill it with -9 and say so (a hung stop must not hang the suite). */
export async function stopWithin(k: KumoServer, ms = 30_000): Promise<'stopped' | 'killed'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const outcome = await Promise.race([k.stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'stopped') return 'stopped';
  await k.stop('SIGKILL');
  return 'killed';
}
