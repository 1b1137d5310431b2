/**
 * The runc runtime beyond the shared contract: images, isolation, the Cloud Run environment,
 * service-to-service calls by URL, limits, pinned digests, and nothing leaked afterwards.
 * Traffic goes only to loopback and to addresses inside namespaces the runtime created.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuncRuntime } from '../../src/runtime/runc/index.js';
import { contractSpec } from '../../src/runtime/runtime.contract.js';
import type { Instance, InstanceSpec } from '../../src/runtime/runtime.js';
import { busyboxImage, nodeAppImage, sharedLayout } from './fixtures/images.js';
import { getJson, PROBE_APP } from './fixtures/probe-app.js';
import { freeTestCidr, runcSkipReason } from './fixtures/runc.js';

const skip = await runcSkipReason();
if (skip) console.log(`runc tests skipped: ${skip}`);
const layout = sharedLayout();

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
}

describe.skipIf(Boolean(skip))('runc runtime', () => {
  const home = mkdtempSync(join(tmpdir(), 'kumo-runc-'));
  const cidr = freeTestCidr();
  const endpoints = new Map<string, Instance['endpoint']>();
  const logs: string[] = [];
  let rt: RuncRuntime;
  let routerPort = 0;
  let apiPort = 0;
  // Stand-ins for kumo's router (routes NAME.localhost by Host) and Google API port, on loopback;
  // the runtime hands them what instances send to the gateway. Each records its callers' addresses.
  const callers: string[] = [];
  const router = createServer((req, res) => {
    callers.push(req.socket.remoteAddress ?? '');
    const name = (req.headers.host ?? '').split('.')[0] ?? '';
    const to = endpoints.get(name);
    if (!to) return void res.writeHead(404).end('no such service');
    const up = request({ host: to.host, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const api = createServer((req, res) => {
    callers.push(req.socket.remoteAddress ?? '');
    res.end('kumo api');
  });
  const stranger = createServer((_req, res) => res.end('should not be reachable'));
  let strangerPort = 0;

  beforeAll(async () => {
    routerPort = await listen(router);
    apiPort = await listen(api);
    strangerPort = await listen(stranger, '0.0.0.0');
    rt = new RuncRuntime({
      stateDir: join(home, 'run'),
      layersDir: join(home, 'layers'),
      imageSource: layout,
      network: {
        cidr,
        routerPort,
        apiPort,
        hosts: () => ['alpha.localhost', 'beta.localhost'],
        accept: { router: (s) => router.emit('connection', s), api: (s) => api.emit('connection', s) },
      },
      project: 'test-project',
    });
  });

  afterAll(async () => {
    for (const i of await rt.list()) await rt.remove(i.instanceId);
    await rt.close();
    for (const s of [router, api, stranger]) s.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function startApp(service: string, overrides: Partial<InstanceSpec> = {}, program = PROBE_APP): Promise<Instance> {
    const image = await nodeAppImage(layout, program);
    const spec = contractSpec({ kind: 'image', image }, overrides);
    spec.service = service;
    spec.env = { ...spec.env, K_SERVICE: service, ...overrides.env };
    const inst = await rt.start(spec, { log: (s, l) => logs.push(`${spec.instanceId} ${s}: ${l}`) });
    await inst.ready;
    endpoints.set(service, inst.endpoint);
    return inst;
  }

  it('serves a busybox-static image on 8080 from an address of its own', async () => {
    const image = await busyboxImage(layout);
    const inst = await rt.start(contractSpec({ kind: 'image', image }), { log: () => undefined });
    await inst.ready;
    expect(inst.endpoint.port).toBe(8080);
    expect(inst.endpoint.host.startsWith(cidr.split('.').slice(0, 3).join('.'))).toBe(true);
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: inst.endpoint.host, port: 8080, path: '/index.html' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe('hello from busybox\n');
    await rt.stop(inst.id, 2000);
  });

  it('gives two services that both listen on 8080 their own networks, and they cannot reach each other', async () => {
    const a = await startApp('alpha');
    const b = await startApp('beta');
    expect(a.endpoint.port).toBe(8080);
    expect(b.endpoint.port).toBe(8080);
    expect(a.endpoint.host).not.toBe(b.endpoint.host);
    expect(await getJson(a.endpoint.host, 8080)).toMatchObject({ service: 'alpha', port: '8080' });
    expect(await getJson(b.endpoint.host, 8080)).toMatchObject({ service: 'beta', port: '8080' });
    const direct = await getJson<{ ok: boolean; error?: string }>(a.endpoint.host, 8080, `/connect?host=${b.endpoint.host}&port=8080`);
    expect(direct.ok).toBe(false);
    // A host service listening on all addresses is not reachable through the gateway either.
    const gw = (await getJson<{ env: Record<string, string> }>(a.endpoint.host, 8080, '/env')).env.KUMO_API_HOST ?? '';
    const other = await getJson<{ ok: boolean }>(a.endpoint.host, 8080, `/connect?host=${gw}&port=${strangerPort}`);
    expect(other.ok).toBe(false);
    await rt.stop(b.id, 2000);
  });

  it('lets one service call another by URL through the router, and reach the API port, as itself', async () => {
    const a = await startApp('alpha');
    await startApp('beta');
    callers.length = 0;
    const viaRouter = await getJson<{ status: number; body: string }>(a.endpoint.host, 8080, `/fetch?url=${encodeURIComponent(`http://beta.localhost:${routerPort}/`)}`);
    expect(viaRouter.status).toBe(200);
    expect(JSON.parse(viaRouter.body)).toMatchObject({ service: 'beta' });
    const { env } = await getJson<{ env: Record<string, string> }>(a.endpoint.host, 8080, '/env');
    const apiCall = await getJson<{ status: number; body: string }>(a.endpoint.host, 8080, `/fetch?url=${encodeURIComponent(`http://${env.PUBSUB_EMULATOR_HOST ?? ''}/`)}`);
    expect(apiCall).toEqual({ status: 200, body: 'kumo api' });
    // Handed over in-process, not relayed from 127.0.0.1: both servers saw alpha's own address,
    // and the runtime names the instance that holds it.
    expect(callers).toEqual([a.endpoint.host, a.endpoint.host]);
    expect(rt.instanceAt(a.endpoint.host)).toEqual({ runtime: 'runc', instanceId: a.id, service: 'alpha', revision: expect.any(String) as string });
    expect(rt.instanceAt('127.0.0.1')).toBeUndefined();
    // The veth may only send from that address (nftables), so another instance cannot pass for alpha.
    const tag = createHash('sha256').update(resolve(join(home, 'run'))).digest('hex').slice(0, 6);
    const set = execFileSync('nft', ['list', 'set', 'inet', `kumo_${tag}`, 'instance_addresses'], { encoding: 'utf8' });
    expect(set).toMatch(new RegExp(`"k${tag}-\\d+" \\. ${a.endpoint.host.replaceAll('.', '\\.')}`));
  });

  it('gives the app the environment Cloud Run does, with the image env and user below the revision env', async () => {
    const inst = await startApp('alpha', { env: { K_SERVICE: 'alpha', K_REVISION: 'alpha-00002-xyz', K_CONFIGURATION: 'alpha', TEXT: 'mine' } });
    const { env, uid, cwd } = await getJson<{ env: Record<string, string>; uid: number; cwd: string }>(inst.endpoint.host, 8080, '/env');
    expect(env).toMatchObject({ PORT: '8080', K_SERVICE: 'alpha', K_REVISION: 'alpha-00002-xyz', K_CONFIGURATION: 'alpha', TEXT: 'mine', GOOGLE_CLOUD_PROJECT: 'test-project' });
    expect(env.PUBSUB_EMULATOR_HOST).toBe(`${env.KUMO_API_HOST ?? ''}:${apiPort}`);
    expect(env.PATH).toContain('/usr/bin');
    expect(uid).toBe(0);
    expect(cwd).toBe('/app');
    const asUser = await rt.start(contractSpec({ kind: 'image', image: await nodeAppImage(layout, PROBE_APP, { user: 'app' }) }), { log: () => undefined });
    await asUser.ready;
    expect(await getJson(asUser.endpoint.host, 8080, '/env')).toMatchObject({ uid: 1000, gid: 1000 });
  });

  it('kills an instance that exceeds its memory and says so in its exit and logs', async () => {
    const inst = await startApp('alpha', { memoryBytes: 96 * 1024 * 1024 });
    await getJson(inst.endpoint.host, 8080, '/alloc');
    const exit = await inst.exited;
    expect(exit).toMatchObject({ oomKilled: true, signal: 'SIGKILL', reason: 'exceeded memory limit of 96 MiB' });
    expect(logs.some((l) => l.includes('exceeded memory limit of 96 MiB'))).toBe(true);
  });

  it('keeps the writable filesystem in memory, bounded by the memory limit', async () => {
    const inst = await startApp('alpha', { memoryBytes: 128 * 1024 * 1024 });
    expect(await getJson(inst.endpoint.host, 8080, '/write?mb=8')).toEqual({ ok: true });
    const stats = rt.stats(inst.id);
    expect(stats?.memoryBytes).toBeGreaterThan(8 * 1024 * 1024);
    const big = await getJson<{ ok: boolean; error?: string }>(inst.endpoint.host, 8080, '/write?mb=200').catch(() => ({ ok: false, error: 'killed' }));
    expect(big.ok).toBe(false);
  });

  it('gives a CPU-burning request what --cpu 0.5 allows', async () => {
    const inst = await startApp('alpha', { cpuMillis: 500 });
    const r = await getJson<{ cpuMs: number; wallMs: number }>(inst.endpoint.host, 8080, '/burn?ms=1500');
    const share = r.cpuMs / r.wallMs;
    expect(share).toBeLessThan(0.62);
    expect(share).toBeGreaterThan(0.25);
  });

  it('keeps serving the pinned image after its tag is pushed again', async () => {
    const tag = `pinned-${process.pid}:v1`;
    const v1 = await nodeAppImage(layout, PROBE_APP, { env: ['TEXT=one', 'PATH=/usr/bin'] }, tag);
    const old = await rt.start(contractSpec({ kind: 'image', image: v1 }, { env: { K_SERVICE: 'old' } }), { log: () => undefined });
    await old.ready;
    const v2 = await nodeAppImage(layout, PROBE_APP, { env: ['TEXT=two', 'PATH=/usr/bin'] }, tag);
    expect(v2.digest).not.toBe(v1.digest);
    const fresh = await rt.start(contractSpec({ kind: 'image', image: v2 }, { env: { K_SERVICE: 'new' } }), { log: () => undefined });
    await fresh.ready;
    const again = await rt.start(contractSpec({ kind: 'image', image: v1 }, { env: { K_SERVICE: 'old2' } }), { log: () => undefined });
    await again.ready;
    expect(await getJson(old.endpoint.host, 8080)).toMatchObject({ text: 'one' });
    expect(await getJson(fresh.endpoint.host, 8080)).toMatchObject({ text: 'two' });
    expect(await getJson(again.endpoint.host, 8080)).toMatchObject({ text: 'one' });
  });

  it('starts the next instance of a revision from a container created ahead, with its own logs', async () => {
    const image = await nodeAppImage(layout, PROBE_APP);
    const spec = () => contractSpec({ kind: 'image', image }, { env: { K_SERVICE: 'gamma' } });
    const first = await rt.start(spec(), { log: () => undefined });
    await first.ready;
    expect((await getJson<{ hostname: string }>(first.endpoint.host, 8080, '/env')).hostname).not.toMatch(/^warm-/);
    await rt.stop(first.id, 2000);
    await new Promise((r) => setTimeout(r, 300));
    await rt.settled();
    const lines: string[] = [];
    const second = await rt.start(spec(), { log: (_s, l) => lines.push(l) });
    await second.ready;
    expect((await getJson<{ hostname: string }>(second.endpoint.host, 8080, '/env')).hostname).toMatch(/^warm-/);
    expect(lines).toContain('listening on 8080');
    expect((await rt.list()).map((i) => i.instanceId)).toContain(second.id);
    expect((second.timings.spawnedAt ?? 0) - second.timings.requestedAt).toBeLessThan(5000);
    await rt.stop(second.id, 2000);
  });

  it('runs with the host network and a free PORT when asked, and knows its processes', async () => {
    const inst = await startApp('alpha', { network: 'host' });
    expect(inst.endpoint.host).toBe('127.0.0.1');
    expect(rt.hasHostNetworkInstances()).toBe(true);
    const pid = Number(readFileSync(join(home, 'run', 'bundles', inst.id, 'pid'), 'utf8'));
    expect(rt.instanceOfProcess(pid)).toMatchObject({ runtime: 'runc', instanceId: inst.id, service: 'alpha' });
    expect(rt.instanceOfProcess(process.pid)).toBeUndefined();
    const body = await getJson<{ port: string }>('127.0.0.1', inst.endpoint.port);
    expect(Number(body.port)).toBe(inst.endpoint.port);
    expect(inst.endpoint.port).not.toBe(8080);
  });

  it('fails clearly for an image with nothing to run', async () => {
    const image = await nodeAppImage(layout, PROBE_APP, { entrypoint: [], cmd: [] });
    await expect(rt.start(contractSpec({ kind: 'image', image }), { log: () => undefined })).rejects.toThrow(/no Entrypoint or Cmd.*--command/);
  });

  it('leaves no mounts, cgroups, namespaces, routes or bundles once instances are stopped and the runtime closed', async () => {
    for (const i of await rt.list()) await rt.remove(i.instanceId);
    await rt.close();
    expect(rt.leftoverMounts()).toEqual([]);
    expect(readdirSync(join(home, 'run', 'bundles'))).toEqual([]);
    const tag = createHash('sha256').update(resolve(join(home, 'run'))).digest('hex').slice(0, 6);
    expect(readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, `kumo-${tag}`)))).toEqual([]);
    expect((existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((n) => n.startsWith(`kumo-${tag}-`))).toEqual([]);
    expect(execFileSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })).not.toContain(`k${tag}-`);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(join(home, 'run'));
  });
});
