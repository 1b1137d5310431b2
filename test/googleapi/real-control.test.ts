/**
 * The Google API port over the REAL serving control plane (SQLite, the process runtime, real
 * instances of examples/hello), driven by the official @google-cloud/run client over gRPC and by
 * gcloud. Until kumo's registry lands, image deploys fail with the control plane's own reason;
 * source deploys (the `kumo.dev/source` template annotation) run for real.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS } from '../../src/serving/service.types.js';
import { packSource } from '../../src/serving/source.pack.js';
import { grpcClients } from './fixtures/clients.js';
import type { Clients } from './fixtures/clients.js';
import { gcloudAvailable, gcloudFor } from './fixtures/gcloud.js';
import { startRealApi } from './fixtures/real-control.js';
import type { RealApi } from './fixtures/real-control.js';

const HELLO = fileURLToPath(new URL('../../examples/hello', import.meta.url));
let api: RealApi;
let c: Clients;
let parent: string;

beforeAll(async () => {
  api = await startRealApi();
  c = grpcClients(api.port, api.token);
  parent = `projects/${api.project}/locations/us-central1`;
});
afterAll(async () => {
  await c.close();
  await api.close();
});

describe('@google-cloud/run over gRPC against the real control plane', () => {
  it('deploys from source, waits until Ready, reads, updates, lists revisions and deletes', async () => {
    const { digest } = await api.sources.put(packSource(HELLO));
    const [op] = await c.services.createService({
      parent, serviceId: 'hello',
      service: { template: { annotations: { [KEYS.source]: digest }, containers: [{}] } },
    }, c.call);
    const [ready] = await op.promise();
    expect(ready.reconciling).toBe(false);
    expect(ready.latestReadyRevision).toMatch(/\/revisions\/hello-00001-/);
    expect(ready.uri).toMatch(/^http:\/\/hello\.localhost:8080/);

    const [got] = await c.services.getService({ name: `${parent}/services/hello` }, c.call);
    expect(got.etag).toBe(ready.etag);

    const [updateOp] = await c.services.updateService({
      service: { ...got, template: { ...got.template, containers: [{ env: [{ name: 'GREETING', value: 'hi' }] }] } },
    }, c.call);
    const [updated] = await updateOp.promise();
    expect(updated.latestReadyRevision).toMatch(/-00002-/);
    expect(updated.template?.containers?.[0]?.env?.[0]?.value).toBe('hi');

    const [revisions] = await c.revisions.listRevisions({ parent: `${parent}/services/hello` }, c.call);
    expect(revisions.map((r) => r.name?.split('/').pop())).toHaveLength(2);

    const [delOp] = await c.services.deleteService({ name: `${parent}/services/hello` }, c.call);
    await delOp.promise();
    await expect(c.services.getService({ name: `${parent}/services/hello` }, c.call)).rejects.toMatchObject({ code: 5 });
  }, 120_000);

  it('refuses an image deploy with the control plane\'s reason', async () => {
    await expect(c.services.createService({ parent, serviceId: 'img', service: { template: { containers: [{ image: 'example.com/app:1' }] } } }, c.call))
      .rejects.toMatchObject({ code: 9, message: expect.stringMatching(/no registry/) as unknown });
  }, 60_000);
});

describe.skipIf(!gcloudAvailable())('gcloud against the real control plane', () => {
  it('deploys an image and reports why it cannot run yet, without a stack trace', async () => {
    const g = gcloudFor(api.port, api.project, api.token);
    try {
      const r = await g.run(['run', 'deploy', 'gimg', '--image', 'example.com/app:1', '--region', 'us-central1', '--quiet']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/FAILED_PRECONDITION: this kumo server has no registry/);
      expect(r.stderr).not.toMatch(/Traceback|crashed/);
      // A service the real control plane runs, read and deleted by gcloud.
      const { digest } = await api.sources.put(packSource(HELLO));
      const { operation } = api.control.applyService({ metadata: { name: 'gsrc' }, spec: { template: { metadata: { annotations: { [KEYS.source]: digest } }, spec: { containers: [{}] } } } }, { mode: 'create', region: 'us-central1' });
      if (operation) await api.control.waitOperation(operation.name, 60_000);
      const list = await g.run(['run', 'services', 'list', '--format', 'value(metadata.name)']);
      expect(list.code).toBe(0);
      expect(list.stdout).not.toContain('gimg');
      expect(list.stdout).toContain('gsrc');
      const d = await g.run(['run', 'services', 'describe', 'gsrc', '--region', 'us-central1', '--format', 'value(status.conditions[0].status)']);
      expect(d.stdout.trim()).toBe('True');
      const revs = await g.run(['run', 'revisions', 'list', '--region', 'us-central1', '--service', 'gsrc', '--format', 'value(metadata.name)']);
      expect(revs.stdout).toMatch(/^gsrc-00001-/);
      const del = await g.run(['run', 'services', 'delete', 'gsrc', '--region', 'us-central1', '--quiet']);
      expect(del.code).toBe(0);
    } finally {
      g.close();
    }
  }, 120_000);
});
