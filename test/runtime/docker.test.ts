/**
 * The docker runtime beyond the contract: the Cloud Run environment, service-to-service calls by
 * URL through the router (host networking), and the memory limit, against a private dockerd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../src/runtime/docker/index.js';
import { OriginResolver } from '../../src/runtime/origin.js';
import type { Origin } from '../../src/shared/origin.js';
import { contractSpec } from '../../src/runtime/runtime.contract.js';
import type { Instance, InstanceSpec } from '../../src/runtime/runtime.js';
import { dockerSkipReason, startDocker } from './fixtures/docker.js';
import type { DockerEnv } from './fixtures/docker.js';
import { nodeAppImage, sharedLayout } from './fixtures/images.js';
import { getJson, PROBE_APP } from './fixtures/probe-app.js';

const skip = dockerSkipReason();
if (skip) console.log(`docker tests skipped: ${skip}`);
const layout = sharedLayout();

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe.skipIf(Boolean(skip))('docker runtime', () => {
  const home = mkdtempSync(join(tmpdir(), 'kumo-docker-'));
  const endpoints = new Map<string, Instance['endpoint']>();
  let env: DockerEnv;
  let rt: DockerRuntime;
  let routerPort = 0;
  let apiPort = 0;
  // The origin of each call the router stand-in gets, as kumo finds it: from the peer socket's owner.
  const origins = new OriginResolver();
  const seen: Promise<Origin>[] = [];
  const router = createServer((req, res) => {
    seen.push(origins.of(req.socket));
    const to = endpoints.get((req.headers.host ?? '').split('.')[0] ?? '');
    if (!to) return void res.writeHead(404).end();
    request({ host: to.host, port: to.port, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    })
      .on('error', () => res.writeHead(502).end())
      .end();
  });
  const api = createServer((_req, res) => res.end('kumo api'));

  beforeAll(async () => {
    env = await startDocker();
    routerPort = await listen(router);
    apiPort = await listen(api);
    rt = new DockerRuntime({ socketPath: env.socket, registry: env.registry, home, network: { routerPort, apiPort, hosts: () => ['alpha.localhost', 'beta.localhost'] }, project: 'docker-project' });
    origins.add(rt);
  });

  afterAll(async () => {
    for (const i of (await rt?.list()) ?? []) await rt.remove(i.instanceId);
    await env?.stop();
    router.close();
    api.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function startApp(service: string, overrides: Partial<InstanceSpec> = {}): Promise<Instance> {
    const image = await env.push(layout, await nodeAppImage(layout, PROBE_APP));
    const spec = contractSpec({ kind: 'image', image }, overrides);
    spec.env = { ...spec.env, K_SERVICE: service };
    const inst = await rt.start(spec, { log: () => undefined });
    await inst.ready;
    endpoints.set(service, inst.endpoint);
    return inst;
  }

  it('gives the app PORT, the revision env and the Google API variables, and lets it call another service by URL, as itself', async () => {
    const a = await startApp('alpha');
    await startApp('beta');
    seen.length = 0;
    const { env: e } = await getJson<{ env: Record<string, string> }>(a.endpoint.host, a.endpoint.port, '/env');
    expect(e).toMatchObject({ PORT: String(a.endpoint.port), K_SERVICE: 'alpha', GOOGLE_CLOUD_PROJECT: 'docker-project', PUBSUB_EMULATOR_HOST: `127.0.0.1:${apiPort}` });
    const viaRouter = await getJson<{ status: number; body: string }>(a.endpoint.host, a.endpoint.port, `/fetch?url=${encodeURIComponent(`http://beta.localhost:${routerPort}/`)}`);
    expect(viaRouter.status).toBe(200);
    expect(JSON.parse(viaRouter.body)).toMatchObject({ service: 'beta' });
    // On the host's network the call comes from 127.0.0.1; the peer socket's owner names the instance.
    expect(seen).toHaveLength(1);
    expect(await seen[0]).toMatchObject({ kind: 'instance', runtime: 'docker', instanceId: a.id, address: '127.0.0.1' });
  });

  it('reports an instance killed for exceeding its memory', async () => {
    const inst = await startApp('alpha', { memoryBytes: 96 * 1024 * 1024 });
    await getJson(inst.endpoint.host, inst.endpoint.port, '/alloc');
    expect(await inst.exited).toMatchObject({ oomKilled: true, reason: 'exceeded memory limit of 96 MiB' });
  });
});
