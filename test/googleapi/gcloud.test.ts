/**
 * The real gcloud (non-interactive, explicit --region) against the Google API port: deploy,
 * services list/describe/delete, revisions list, IAM on deploy, and clear refusals for what kumo
 * does not support. The control plane is the in-memory test double until serving lands on main.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcloudAvailable, gcloudFor } from './fixtures/gcloud.js';
import type { Gcloud } from './fixtures/gcloud.js';
import { grpcClients } from './fixtures/clients.js';
import { startApi } from './fixtures/start.js';
import type { Started } from './fixtures/start.js';

const R = 'us-central1';
let api: Started;
let gcloud: Gcloud;

if (!gcloudAvailable()) console.warn('gcloud is not installed: skipping the gcloud end-to-end tests');

describe.skipIf(!gcloudAvailable())('gcloud run against kumo', () => {
  beforeAll(async () => {
    api = await startApi({ readyAfterMs: 300 });
    gcloud = gcloudFor(api.port, api.control.project, api.token);
  });
  afterAll(async () => {
    gcloud.close();
    await api.close();
  });

  const noTrace = (text: string): void => {
    expect(text).not.toMatch(/Traceback|gcloud crashed/);
  };

  it('deploys a new service and prints its URL', async () => {
    const r = await gcloud.run(['run', 'deploy', 'hello', '--image', 'example.com/hello:1', '--region', R, '--quiet']);
    noTrace(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Service \[hello\] revision \[hello-00001-\w+\] has been deployed and is serving 100 percent of traffic/);
    expect(r.stderr).toContain('http://hello.localhost:8080');
  });

  it('redeploys with flags, makes it public, and the v2 API sees the result', async () => {
    const r = await gcloud.run(['run', 'deploy', 'hello', '--image', 'example.com/hello:2', '--region', R, '--quiet', '--allow-unauthenticated', '--concurrency', '5', '--set-env-vars', 'A=1', '--max-instances', '3', '--timeout', '120']);
    noTrace(r.stderr);
    expect(r.code).toBe(0);
    const c = grpcClients(api.port, api.token);
    try {
      const [svc] = await c.services.getService({ name: `projects/${api.control.project}/locations/${R}/services/hello` }, c.call);
      const [policy] = await c.services.getIamPolicy({ resource: svc.name ?? '' }, c.call);
      expect(policy.bindings).toEqual([expect.objectContaining({ role: 'roles/run.invoker', members: ['allUsers'] })]);
      expect(svc.template?.containers?.[0]?.image).toBe('example.com/hello:2');
      expect(svc.template?.containers?.[0]?.env).toEqual([expect.objectContaining({ name: 'A', value: '1' })]);
      expect(svc.template?.maxInstanceRequestConcurrency).toBe(5);
      expect(svc.template?.scaling?.maxInstanceCount).toBe(3);
      expect(Number(svc.template?.timeout?.seconds)).toBe(120);
      expect(svc.client).toBe('gcloud');
    } finally {
      await c.close();
    }
  });

  it('lists services across regions and describes one', async () => {
    const list = await gcloud.run(['run', 'services', 'list', '--format', 'json']);
    noTrace(list.stderr);
    expect(list.code).toBe(0);
    const items = JSON.parse(list.stdout) as { metadata: { name: string; labels: Record<string, string> } }[];
    expect(items.map((i) => i.metadata.name)).toContain('hello');
    expect(items.find((i) => i.metadata.name === 'hello')?.metadata.labels['cloud.googleapis.com/location']).toBe(R);

    const d = await gcloud.run(['run', 'services', 'describe', 'hello', '--region', R, '--format', 'json']);
    expect(d.code).toBe(0);
    const svc = JSON.parse(d.stdout) as { spec: { template: { spec: { containers: { image: string }[] } } }; status: { url: string } };
    expect(svc.spec.template.spec.containers[0]?.image).toBe('example.com/hello:2');
    expect(svc.status.url).toBe('http://hello.localhost:8080');
  });

  it('lists revisions, for all services and for one', async () => {
    const all = await gcloud.run(['run', 'revisions', 'list', '--region', R, '--format', 'json']);
    noTrace(all.stderr);
    expect(all.code).toBe(0);
    const names = (JSON.parse(all.stdout) as { metadata: { name: string } }[]).map((x) => x.metadata.name);
    expect(names.filter((n) => n.startsWith('hello-'))).toHaveLength(2);
    const one = await gcloud.run(['run', 'revisions', 'list', '--region', R, '--service', 'hello', '--format', 'value(metadata.name)']);
    expect(one.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('refuses flags kumo does not support, naming them, without a stack trace', async () => {
    const r = await gcloud.run(['run', 'deploy', 'hello', '--image', 'example.com/hello:3', '--region', R, '--quiet', '--vpc-connector', 'c1']);
    noTrace(r.stderr);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('kumo does not support run.googleapis.com/vpc-access-connector (gcloud --vpc-connector) yet');
  });

  it('reports a revision that never gets Ready with its reason', async () => {
    const r = await gcloud.run(['run', 'deploy', 'broken', '--image', 'example.com/fail', '--region', R, '--quiet']);
    noTrace(r.stderr);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Revision broken-00001-\w+ is not ready: container failed to start/);
  });

  it('answers on another region\'s host, and says a service is not there', async () => {
    const r = await gcloud.run(['run', 'services', 'describe', 'hello', '--region', 'europe-west1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Cannot find service [hello]');
  });

  it('deletes a service', async () => {
    const r = await gcloud.run(['run', 'services', 'delete', 'hello', '--region', R, '--quiet']);
    noTrace(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Deleted service [hello]');
    const d = await gcloud.run(['run', 'services', 'describe', 'hello', '--region', R]);
    expect(d.code).not.toBe(0);
  });

  it('is refused without a valid token', async () => {
    const bad = gcloudFor(api.port, api.control.project, 'not-a-token');
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
