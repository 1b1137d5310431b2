/**
 * Image deploys through a real `kumo server --runtime docker` against a private dockerd
 * (`--bridge=none --iptables=false`, its own socket via DOCKER_HOST, its own data root): Docker
 * pulls the pinned digest from kumo's registry with a kumo access token (the registry refuses
 * anonymous pulls), and the instance serves, calls another service by URL, and is removed on stop.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, instances, removeHome, startKumo, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { dockerSkipReason, startDocker } from '../runtime/fixtures/docker.js';
import type { DockerEnv } from '../runtime/fixtures/docker.js';
import { deployImage, pushNodeApp, stopWithin } from './harness.js';

const skip = dockerSkipReason();
if (skip) console.log(`container tests on docker skipped: ${skip}`);

describe.skipIf(Boolean(skip))('image deploys on the docker runtime', () => {
  let engine: DockerEnv;
  let k: KumoServer;

  beforeAll(async () => {
    engine = await startDocker();
    k = await startKumo(['--idle-grace', '500ms', '--scale-tick', '200ms', '--stop-grace', '2s'], undefined, { runtime: 'docker', env: { DOCKER_HOST: `unix://${engine.socket}` } });
  });

  afterAll(async () => {
    const stop = k ? await stopWithin(k) : 'stopped';
    if (k) removeHome(k);
    if (!engine) return;
    const docker = new Docker({ socketPath: engine.socket });
    const left = await docker.listContainers({ all: true, filters: { label: ['dev.kumo.home'] } });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    await engine.stop();
    // kumo stopped in time and removed every container it made.
    expect(stop).toBe('stopped');
    expect(left.map((c) => c.Names)).toEqual([]);
  });

  it('pulls the pinned digest from kumo\'s registry with a token, and serves it', async () => {
    await waitFor('the runtime line', () => k.output(), (o) => o.includes('kumo: runtime '), 5000);
    expect(k.output()).toContain('runtime docker: Docker at');
    const { ref, image } = await pushNodeApp(k, 'dock/app:v1');
    // The registry does not serve anonymous pulls: Docker's pull below needs kumo's token.
    const anonymous = await fetch(`${k.url}/v2/dock/app/manifests/${image.digest}`);
    expect(anonymous.status).toBe(401);

    deployImage(k, 'whale', ref);
    deployImage(k, 'orca', ref);
    const r = await call(k, 'whale.localhost', '/env');
    expect(r.status).toBe(200);
    const { env } = JSON.parse(r.body) as { env: Record<string, string> };
    expect(env).toMatchObject({ K_SERVICE: 'whale', K_CONFIGURATION: 'whale', GOOGLE_CLOUD_PROJECT: 'kumo-project' });
    // Host networking: a free PORT of its own, not 8080.
    expect(Number(env.PORT)).toBeGreaterThan(0);

    const images = await new Docker({ socketPath: engine.socket }).listImages();
    expect(images.flatMap((i) => i.RepoDigests ?? [])).toContain(`localhost:${k.port}/dock/app@${image.digest}`);
  });

  it('lets one service call another by URL from inside its container', async () => {
    const url = `http://orca.localhost:${k.port}/`;
    const reply = JSON.parse((await call(k, 'whale.localhost', `/fetch?url=${encodeURIComponent(url)}`)).body) as { status: number; body: string };
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ service: 'orca' });
  });

  it('scales to zero, removing the container, and starts again from zero', async () => {
    await waitFor('whale at zero', () => instances(k, 'whale'), (l) => l.length === 0, 20_000);
    const docker = new Docker({ socketPath: engine.socket });
    await waitFor(
      'no whale container',
      async () => (await docker.listContainers({ all: true, filters: { label: ['dev.kumo.service=whale'] } })).length,
      (n) => n === 0,
      10_000,
    );
    const again = await call(k, 'whale.localhost', '/');
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ service: 'whale', version: 'v1' });
  });

  it('kills a container that exceeds --memory and says so', async () => {
    const { ref } = await pushNodeApp(k, 'dock/app:v1');
    deployImage(k, 'bloat', ref, ['--memory', '128Mi']);
    const r = await call(k, 'bloat.localhost', '/eat', { timeoutMs: 30_000 });
    expect(r.status).toBeGreaterThanOrEqual(500);
    await waitFor('the OOM kill in the logs', () => k.cli(['run', 'services', 'logs', 'read', 'bloat']).stdout, (out) => out.includes('exceeded memory limit of 128 MiB'), 20_000, 250);
  });

  it('stops cleanly while an instance is still starting (nothing started late is left running)', async () => {
    await waitFor('orca at zero', () => instances(k, 'orca'), (l) => l.length === 0, 20_000);
    const pending = call(k, 'orca.localhost', '/').catch(() => undefined);
    await waitFor('orca starting', () => instances(k, 'orca'), (l) => l.some((i) => i.state === 'starting'), 10_000, 5);
    expect(await stopWithin(k)).toBe('stopped');
    await pending;
    // afterAll finds no container left on the engine.
  });
});
