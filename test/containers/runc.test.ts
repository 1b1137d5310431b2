/**
 * Container images through a real `kumo server --runtime runc`: pushed with skopeo into kumo's
 * own registry, deployed with the CLI, called through the front door. Deploy, call, scale from
 * zero; two services whose apps both listen on 8080; one service calling another by URL from
 * inside its container (public, and private with an identity token); no direct reach between
 * instances; the environment an app sees.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../src/serving/revision.types.js';
import { call, HELLO_DIR, instances, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { deployImage, finishRunc, pushBusybox, NOTHING_LEFT, pushNodeApp, runcLeftovers, runcServerSkipReason, startRuncKumo } from './harness.js';

const skip = await runcServerSkipReason();
if (skip) console.log(`container tests on runc skipped: ${skip}`);

interface EnvReply {
  env: Record<string, string>;
  addresses: string[];
  hostname: string;
}

describe.skipIf(Boolean(skip))('image deploys on the runc runtime', () => {
  let k: KumoServer & { cidr: string };
  let ref = '';
  const gateway = () => {
    const [a, b, c] = k.cidr.split('.');
    return `${a ?? ''}.${b ?? ''}.${c ?? ''}.1`;
  };

  beforeAll(async () => {
    k = await startRuncKumo();
    ref = (await pushNodeApp(k, 'team/app:v1')).ref;
    deployImage(k, 'alpha', ref, ['--set-env-vars', 'GREETING=hi there,EXTRA=1']);
    deployImage(k, 'beta', ref);
  });

  afterAll(async () => {
    if (!k) return;
    // A clean stop leaves nothing of any instance behind.
    expect(await finishRunc(k)).toEqual(NOTHING_LEFT);
  });

  it('deploys, answers, pins the digest, scales to zero and starts again from zero', async () => {
    const r = await call(k, 'alpha.localhost', '/');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { service: string; port: string; version: string; revision: string };
    expect(body).toMatchObject({ service: 'alpha', port: '8080', version: 'v1' });

    const rev = JSON.parse(k.cli(['run', 'revisions', 'describe', body.revision, '--format', 'json']).stdout) as Revision;
    expect(rev.status.imageDigest).toMatch(/^team\/app@sha256:[a-f0-9]{64}$/);

    await waitFor('alpha at zero', () => instances(k, 'alpha'), (l) => l.length === 0, 20_000);
    const again = await call(k, 'alpha.localhost', '/');
    expect(again.status).toBe(200);
    const now = await instances(k, 'alpha');
    expect(now.length).toBeGreaterThan(0);
    expect(now.map((i) => i.startReason)).not.toContain('deployment');
  });

  it('runs the busybox-static image (busybox httpd on PORT) as well', async () => {
    const { ref } = await pushBusybox(k, 'team/busybox:v1');
    deployImage(k, 'tiny', ref);
    const r = await call(k, 'tiny.localhost', '/');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from busybox\n');
  });

  it('runs two services whose apps both listen on 8080, each in its own network', async () => {
    const [a, b] = await Promise.all([call(k, 'alpha.localhost', '/env'), call(k, 'beta.localhost', '/env')]);
    const ea = JSON.parse(a.body) as EnvReply;
    const eb = JSON.parse(b.body) as EnvReply;
    expect(ea.env.PORT).toBe('8080');
    expect(eb.env.PORT).toBe('8080');
    expect(ea.env.K_SERVICE).toBe('alpha');
    expect(eb.env.K_SERVICE).toBe('beta');
    const own = (e: EnvReply) => e.addresses.filter((x) => x !== '127.0.0.1');
    expect(own(ea)).toHaveLength(1);
    expect(own(eb)).toHaveLength(1);
    expect(own(ea)[0]).not.toBe(own(eb)[0]);
    for (const e of [ea, eb]) expect(own(e)[0]?.startsWith(k.cidr.split('.').slice(0, 3).join('.'))).toBe(true);
  });

  it('gives the app the environment a Cloud Run app expects, pointing at kumo from inside', async () => {
    const r = await call(k, 'alpha.localhost', '/env');
    const { env } = JSON.parse(r.body) as EnvReply;
    const service = JSON.parse(k.cli(['run', 'services', 'describe', 'alpha', '--format', 'json']).stdout) as { status: { latestReadyRevisionName: string } };
    const apiPort = /Google APIs .* on 127\.0\.0\.1:(\d+)/.exec(k.output())?.[1] ?? '';
    expect(apiPort).not.toBe('');
    const gw = gateway();
    expect(env).toMatchObject({
      PORT: '8080',
      K_SERVICE: 'alpha',
      K_REVISION: service.status.latestReadyRevisionName,
      K_CONFIGURATION: 'alpha',
      GOOGLE_CLOUD_PROJECT: 'kumo-project',
      GCLOUD_PROJECT: 'kumo-project',
      CLOUDSDK_CORE_PROJECT: 'kumo-project',
      PUBSUB_EMULATOR_HOST: `${gw}:${apiPort}`,
      PUBSUB_PROJECT_ID: 'kumo-project',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${gw}:${apiPort}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: `http://${gw}:${apiPort}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER: `http://${gw}:${apiPort}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: `http://${gw}:${apiPort}/`,
      KUMO_API_HOST: gw,
      KUMO_API_PORT: apiPort,
      KUMO_ROUTER: `http://${gw}:${k.port}`,
      GREETING: 'hi there',
      EXTRA: '1',
    });
    // The image's own Env comes through too.
    expect(env.PATH).toContain('/usr/bin');
    // PUBSUB_EMULATOR_HOST is kumo's Google API port as reached from inside: it answers HTTP.
    const api = await call(k, 'alpha.localhost', `/fetch?url=${encodeURIComponent(`http://${env.PUBSUB_EMULATOR_HOST ?? ''}/v1/projects/kumo-project/topics`)}`);
    const apiReply = JSON.parse(api.body) as { status?: number; error?: string };
    expect(apiReply.error).toBeUndefined();
    expect(apiReply.status).toBeGreaterThanOrEqual(200);
  });

  it('lets one service call another by URL from inside its container', async () => {
    const url = `http://beta.localhost:${k.port}/`;
    const r = await call(k, 'alpha.localhost', `/fetch?url=${encodeURIComponent(url)}`);
    const reply = JSON.parse(r.body) as { status: number; body: string };
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ service: 'beta', version: 'v1' });
  });

  it('reaches a private service only with an identity token for its URL', async () => {
    const d = k.cli(['run', 'deploy', 'gamma', '--image', ref, '--no-allow-unauthenticated']);
    expect(d.code, d.stderr).toBe(0);
    const url = `http://gamma.localhost:${k.port}`;
    const without = JSON.parse((await call(k, 'alpha.localhost', `/fetch?url=${encodeURIComponent(`${url}/`)}`)).body) as { status: number; body: string };
    expect(without.status).toBe(401);
    expect(without.body).toContain('print-identity-token');
    const token = k.cli(['auth', 'print-identity-token', '--audiences', url]).stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const withToken = JSON.parse((await call(k, 'alpha.localhost', `/fetch?url=${encodeURIComponent(`${url}/`)}&token=${token}`)).body) as { status: number; body: string };
    expect(withToken.status).toBe(200);
    expect(JSON.parse(withToken.body)).toMatchObject({ service: 'gamma' });
  });

  it('keeps instances from reaching each other or the host directly: only the router and API port answer', async () => {
    const eb = JSON.parse((await call(k, 'beta.localhost', '/env')).body) as EnvReply;
    const betaAddress = eb.addresses.find((x) => x !== '127.0.0.1') ?? '';
    const viaAlpha = async (host: string, port: number) =>
      JSON.parse((await call(k, 'alpha.localhost', `/connect?host=${host}&port=${port}`)).body) as { ok: boolean; error?: string };
    // A server on every host address, as many host services are: not reachable from an instance.
    const stranger = createServer((s) => s.end('should not be reachable'));
    const strangerPort = await new Promise<number>((r) => stranger.listen(0, '0.0.0.0', () => r((stranger.address() as AddressInfo).port)));
    try {
      expect(await viaAlpha(gateway(), k.port)).toEqual({ ok: true });
      expect((await viaAlpha(gateway(), strangerPort)).ok).toBe(false);
      // beta listens on 8080 in its own namespace: the host (the router) reaches it, alpha does not.
      expect((await viaAlpha(betaAddress, 8080)).ok).toBe(false);
    } finally {
      stranger.close();
    }
  });

  it('runs a --source deploy on the process runtime, and says so', async () => {
    const r = k.cli(['run', 'deploy', 'sourced', '--source', HELLO_DIR, '--allow-unauthenticated']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('source deploys run on the process runtime (a host process, no isolation) until kumo can build images');
    expect((await call(k, 'sourced.localhost', '/')).status).toBe(200);
  });

  it('keeps only live instances on the host while serving', async () => {
    const live = (await instances(k, 'alpha')).length + (await instances(k, 'beta')).length + (await instances(k, 'gamma')).length;
    const left = runcLeftovers(k.home);
    // One cgroup per instance or container held ready, never more than a handful beyond the live ones.
    expect(left.cgroups.length).toBeGreaterThanOrEqual(live);
    expect(left.cgroups.length).toBeLessThanOrEqual(live + 8);
  });
});
