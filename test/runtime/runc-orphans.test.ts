/**
 * A server process (built from dist/) starts runc instances and is killed with -9; a new runtime
 * over the same state finds them running, removes them, and nothing is left: no processes,
 * mounts, cgroups, network namespaces or bundles.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuncRuntime } from '../../src/runtime/runc/index.js';
import { nodeAppImage, sharedLayout } from './fixtures/images.js';
import { getJson, PROBE_APP } from './fixtures/probe-app.js';
import { freeTestCidr, runcSkipReason } from './fixtures/runc.js';

const skip = await runcSkipReason();
const layout = sharedLayout();
const dist = resolve('dist/runtime/runc/index.js');

const SERVER = `
import { createReadStream } from 'node:fs';
const [stateDir, layersDir, layoutDir, cidr, imageJson] = process.argv.slice(1);
const { RuncRuntime } = await import(process.env.KUMO_RUNC_DIST);
const source = {
  blobPath: (d) => layoutDir + '/blobs/' + d.replace(':', '/'),
  openBlob: async (d) => createReadStream(layoutDir + '/blobs/' + d.replace(':', '/')),
};
const rt = new RuncRuntime({ stateDir, layersDir, imageSource: source, network: { cidr, routerPort: 0, apiPort: 0, hosts: () => [] }, project: 'p' });
const image = JSON.parse(imageJson);
const out = [];
for (const n of [1, 2]) {
  const inst = await rt.start({ instanceId: 'orphan-' + process.pid + '-' + n, service: 'orphan', revision: 'orphan-00001-abc', configuration: 'orphan',
    workload: { kind: 'image', image }, env: { K_SERVICE: 'orphan' }, containerPort: 8080, cpuMillis: 1000, memoryBytes: 128 << 20,
    startupTimeoutMs: 10000, network: 'isolated' }, { log: () => {} });
  await inst.ready;
  rt.freeze(inst.id);
  out.push({ id: inst.id, endpoint: inst.endpoint });
}
// let the runtime prepare its next container of this shape, so one is held at its gate when we die
await new Promise((r) => setTimeout(r, 500));
await rt.settled();
console.log(JSON.stringify(out));
setInterval(() => {}, 1000);
`;

describe.skipIf(Boolean(skip))('runc orphans after kill -9 of the server', () => {
  const home = mkdtempSync(join(tmpdir(), 'kumo-runc-orphans-'));
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('are found running, removed, and leave nothing behind', async () => {
    const cidr = freeTestCidr();
    const image = await nodeAppImage(layout, PROBE_APP);
    const stateDir = join(home, 'run');
    const server = spawn(process.execPath, ['--input-type=module', '-e', SERVER, stateDir, join(home, 'layers'), layout.dir, cidr, JSON.stringify(image)], {
      env: { ...process.env, KUMO_RUNC_DIST: dist },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = await new Promise<{ id: string; endpoint: { host: string; port: number } }[]>((res, rej) => {
      let text = '';
      server.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) res(JSON.parse(text.split('\n')[0] ?? '[]') as never);
      });
      server.once('exit', (code) => rej(new Error(`server exited with ${String(code)}`)));
    });
    expect(started).toHaveLength(2);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));

    const later = new RuncRuntime({
      stateDir,
      layersDir: join(home, 'layers'),
      imageSource: layout,
      network: { cidr, routerPort: 0, apiPort: 0, hosts: () => [] },
      project: 'p',
    });
    try {
      const seen = await later.list();
      for (const s of started) expect(seen).toContainEqual(expect.objectContaining({ instanceId: s.id, service: 'orphan', running: true }));
      const first = started[0];
      if (!first) throw new Error('no instance');
      // The crashed server also held a container ready for the next start; it is an orphan too.
      expect(seen.length).toBe(3);
      for (const s of seen) await later.remove(s.instanceId);
      expect(await later.list()).toEqual([]);
      await expect(getJson(first.endpoint.host, first.endpoint.port, '/', {}, 300)).rejects.toThrow();
      expect(later.leftoverMounts()).toEqual([]);
      expect(readdirSync(join(stateDir, 'bundles'))).toEqual([]);
      const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      for (const s of started) {
        expect(ps).not.toContain(s.id);
        const groups = readdirSync('/sys/fs/cgroup').flatMap((h) =>
          existsSync(join('/sys/fs/cgroup', h, 'cgroup.procs')) ? readdirSync(join('/sys/fs/cgroup', h)).filter((d) => d.startsWith('kumo-')).map((d) => join('/sys/fs/cgroup', h, d, s.id)) : [],
        );
        expect(groups.length).toBeGreaterThan(0);
        expect(groups.filter((g) => existsSync(g))).toEqual([]);
      }
    } finally {
      for (const i of await later.list()) await later.remove(i.instanceId);
      await later.close();
    }
    const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
    expect(netns.filter((n) => started.some((s) => n.includes(s.id)))).toEqual([]);
    expect(execFileSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })).not.toContain(cidr.split('/')[0]?.split('.').slice(0, 3).join('.') + '.');
  });
});
