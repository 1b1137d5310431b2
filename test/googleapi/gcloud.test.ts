/**
 * The real gcloud (throw-away CLOUDSDK_CONFIG, `auth/access_token_file` holding a token from
 * `kumo auth print-access-token`, `api_endpoint_overrides/run` reached through gcloud's proxy
 * setting, non-interactive with an explicit --region) against a real `kumo server`: image deploys
 * from kumo's registry, Knative YAML with `services replace`, `services update`, IAM, list,
 * describe, revisions, delete, and clear refusals for what kumo does not support.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KEYS } from '../../src/serving/service.types.js';
import { call } from '../helpers/kumo.js';
import { run, tempDir } from '../registry/harness.js';
import { busyboxImage, writeOciLayout } from '../registry/oci-layout.js';
import { grpcClients } from './fixtures/clients.js';
import { gcloudAvailable, gcloudFor } from './fixtures/gcloud.js';
import type { Gcloud } from './fixtures/gcloud.js';
import { startKumoApi } from './fixtures/kumo.js';
import type { KumoApi } from './fixtures/kumo.js';

const R = 'us-central1';
let api: KumoApi;
let gcloud: Gcloud;
let work: string;
let image: string;
let imageDigest: string;

if (!gcloudAvailable()) console.warn('gcloud is not installed: skipping the gcloud end-to-end tests');

const noTrace = (text: string): void => {
  expect(text).not.toMatch(/Traceback|gcloud crashed/);
};

describe.skipIf(!gcloudAvailable())('gcloud run against kumo server', () => {
  beforeAll(async () => {
    api = await startKumoApi();
    gcloud = gcloudFor(api.port, api.project, api.token);
    work = tempDir('gcloud');
    // An image in kumo's own registry, pushed as users do.
    const built = await busyboxImage();
    writeOciLayout(join(work, 'layout'), built, 'v1');
    image = `localhost:${api.kumo.port}/gcloud/app:v1`;
    imageDigest = built.manifest.digest;
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${api.token}`, `oci:${join(work, 'layout')}:v1`, `docker://${image}`]);
  });
  afterAll(async () => {
    gcloud.close();
    await api.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys an image from kumo\'s registry: pinned by digest, and the process runtime says how to run it', async () => {
    const r = await gcloud.run(['run', 'deploy', 'gimg', '--image', image, '--region', R, '--quiet']);
    noTrace(r.stderr);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Revision 'gimg-00001-\w+' is not ready and cannot serve traffic/);
    expect(r.stderr).toContain('this kumo server has no container runtime, so it cannot run images');
    expect(r.stderr).toContain('install runc');
    const revs = await gcloud.run(['run', 'revisions', 'list', '--region', R, '--service', 'gimg', '--format', 'value(status.imageDigest)']);
    expect(revs.stdout.trim()).toBe(`gcloud/app@${imageDigest}`);
  });

  it('deploys Knative YAML from source with services replace, prints the URL, and it serves', async () => {
    const digest = await api.source();
    const yamlFile = join(work, 'ghello.yaml');
    writeFileSync(yamlFile, stringify({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'ghello', labels: { team: 'web' } },
      spec: { template: { metadata: { annotations: { [KEYS.source]: digest, 'autoscaling.knative.dev/maxScale': '2' } }, spec: { containers: [{ image: '' }] } } },
    }));
    const r = await gcloud.run(['run', 'services', 'replace', yamlFile, '--region', R, '--quiet']);
    noTrace(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain(`URL: ${api.urlOf('ghello')}`);

    // Private until IAM says otherwise, as on Cloud Run.
    expect((await call(api.kumo, 'ghello.localhost', '/')).status).toBe(401);
    const iam = await gcloud.run(['run', 'services', 'add-iam-policy-binding', 'ghello', '--member', 'allUsers', '--role', 'roles/run.invoker', '--region', R, '--quiet']);
    noTrace(iam.stderr);
    expect(iam.code).toBe(0);
    const res = await call(api.kumo, 'ghello.localhost', '/');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^Hello from ghello, revision ghello-00001-/);
  });

  it('updates a service with flags; the new revision serves and the v2 API sees the result', async () => {
    const r = await gcloud.run(['run', 'services', 'update', 'ghello', '--region', R, '--quiet', '--concurrency', '5', '--update-env-vars', 'A=1', '--max-instances', '3', '--timeout', '120']);
    noTrace(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Service \[ghello\] revision \[ghello-00002-\w+\] has been deployed and is serving 100 percent of traffic/);
    const env = await call(api.kumo, 'ghello.localhost', '/env');
    expect((JSON.parse(env.body) as { env: Record<string, string> }).env['A']).toBe('1');

    const c = grpcClients(api.port, api.token);
    try {
      const [svc] = await c.services.getService({ name: `projects/${api.project}/locations/${R}/services/ghello` }, c.call);
      const [policy] = await c.services.getIamPolicy({ resource: svc.name ?? '' }, c.call);
      expect(policy.bindings).toEqual([expect.objectContaining({ role: 'roles/run.invoker', members: ['allUsers'] })]);
      expect(svc.template?.containers?.[0]?.env).toEqual([expect.objectContaining({ name: 'A', value: '1' })]);
      expect(svc.template?.maxInstanceRequestConcurrency).toBe(5);
      expect(svc.template?.scaling?.maxInstanceCount).toBe(3);
      expect(Number(svc.template?.timeout?.seconds)).toBe(120);
      expect(svc.labels).toEqual({ team: 'web' });
      expect(svc.latestReadyRevision).toMatch(/\/revisions\/ghello-00002-/);
    } finally {
      await c.close();
    }
  });

  it('lists services across regions and describes one', async () => {
    const list = await gcloud.run(['run', 'services', 'list', '--format', 'json']);
    noTrace(list.stderr);
    expect(list.code).toBe(0);
    const items = JSON.parse(list.stdout) as { metadata: { name: string; labels: Record<string, string> } }[];
    expect(items.map((i) => i.metadata.name).sort()).toEqual(['ghello', 'gimg']);
    expect(items.find((i) => i.metadata.name === 'ghello')?.metadata.labels['cloud.googleapis.com/location']).toBe(R);

    const d = await gcloud.run(['run', 'services', 'describe', 'ghello', '--region', R, '--format', 'json']);
    expect(d.code).toBe(0);
    const svc = JSON.parse(d.stdout) as { spec: { template: { metadata: { annotations: Record<string, string> } } }; status: { url: string; conditions: { type: string; status: string }[] } };
    expect(svc.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale']).toBe('3');
    expect(svc.status.url).toBe(api.urlOf('ghello'));
    expect(svc.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('lists revisions, for all services and for one', async () => {
    const all = await gcloud.run(['run', 'revisions', 'list', '--region', R, '--format', 'json']);
    noTrace(all.stderr);
    expect(all.code).toBe(0);
    const names = (JSON.parse(all.stdout) as { metadata: { name: string } }[]).map((x) => x.metadata.name);
    expect(names.filter((n) => n.startsWith('ghello-'))).toHaveLength(2);
    expect(names.filter((n) => n.startsWith('gimg-'))).toHaveLength(1);
    const one = await gcloud.run(['run', 'revisions', 'list', '--region', R, '--service', 'ghello', '--format', 'value(metadata.name)']);
    expect(one.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('refuses flags kumo does not support, naming them, without a stack trace', async () => {
    const r = await gcloud.run(['run', 'deploy', 'ghello', '--image', image, '--region', R, '--quiet', '--vpc-connector', 'c1']);
    noTrace(r.stderr);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('kumo does not support run.googleapis.com/vpc-access-connector (gcloud --vpc-connector) yet');
  });

  it('answers on another region\'s host, and says a service is not there', async () => {
    const r = await gcloud.run(['run', 'services', 'describe', 'ghello', '--region', 'europe-west1']);
    noTrace(r.stderr);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Cannot find service [ghello]');
  });

  it('deletes services; kumo\'s own CLI agrees', async () => {
    for (const name of ['ghello', 'gimg']) {
      const r = await gcloud.run(['run', 'services', 'delete', name, '--region', R, '--quiet']);
      noTrace(r.stderr);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Deleted service [${name}]`);
    }
    expect((await gcloud.run(['run', 'services', 'describe', 'ghello', '--region', R])).code).not.toBe(0);
    expect(JSON.parse(api.kumoCli(['run', 'services', 'list', '--format', 'json']))).toEqual([]);
    expect((await call(api.kumo, 'ghello.localhost', '/')).status).toBe(404);
  });

  it('is refused without a valid token', async () => {
    const bad = gcloudFor(api.port, api.project, 'not-a-token');
    try {
      const r = await bad.run(['run', 'services', 'list']);
      noTrace(r.stderr);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('UNAUTHENTICATED');
    } finally {
      bad.close();
    }
  });
});
