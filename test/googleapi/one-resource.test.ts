/**
 * One resource, four doors, on a real `kumo server`: what kumo's own CLI deploys reads the same
 * through Cloud Run Admin v1 REST (Knative), v2 REST (the client's fallback) and v2 gRPC (the
 * official client), and what the v2 API deploys reads the same through kumo's CLI. An image
 * deploy's pinned digest shows in v1 and in the CLI alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS } from '../../src/serving/service.types.js';
import { HELLO_DIR, uniqueName } from '../helpers/kumo.js';
import { pushImage } from '../registry/http-client.js';
import { gzipLayer, imageOf } from '../registry/oci-layout.js';
import { grpcClients, restClients } from './fixtures/clients.js';
import type { Clients } from './fixtures/clients.js';
import { startKumoApi } from './fixtures/kumo.js';
import type { KumoApi } from './fixtures/kumo.js';

const R = 'us-central1';
let api: KumoApi;
let g: Clients;
let rest: Clients;
let parent: string;

beforeAll(async () => {
  api = await startKumoApi();
  g = grpcClients(api.port, api.token);
  rest = restClients(api.port, api.token);
  parent = `projects/${api.project}/locations/${R}`;
});
afterAll(async () => {
  await g.close();
  await rest.close();
  await api.close();
});

interface KnativeService {
  metadata: { name: string; uid: string; generation: number; resourceVersion: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containerConcurrency: number; timeoutSeconds: number; containers: { image?: string; env?: { name: string; value: string }[] }[] } } };
  status: { url: string; latestReadyRevisionName: string; latestCreatedRevisionName: string; conditions: { type: string; status: string }[] };
}
interface KnativeRevision {
  metadata: { name: string; uid: string };
  status: { imageDigest?: string; conditions: { type: string; status: string; message?: string }[] };
}

async function v1<T>(path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${api.port}${path}`, { headers: { authorization: `Bearer ${api.token}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('one service, read through every door', () => {
  it('deployed by kumo\'s CLI: v1 REST, v2 REST, v2 gRPC and the CLI agree', async () => {
    const name = uniqueName('same');
    api.kumoCli(['run', 'deploy', name, '--source', HELLO_DIR, '--concurrency', '3', '--max-instances', '4', '--timeout', '45s', '--set-env-vars', 'A=1', '--update-labels', 'team=a']);
    const cli = JSON.parse(api.kumoCli(['run', 'services', 'describe', name, '--format', 'json'])) as KnativeService;
    const k = await v1<KnativeService>(`/apis/serving.knative.dev/v1/namespaces/${api.project}/services/${name}`);
    // The CLI and v1 both speak Knative: the same object, field for field, except that v1 gives a
    // source deploy's container an empty image string (gcloud reads it as a string).
    const cliAsV1 = structuredClone(cli);
    for (const c of cliAsV1.spec.template.spec.containers) c.image ??= '';
    expect(k).toEqual(cliAsV1);
    const [viaGrpc] = await g.services.getService({ name: `${parent}/services/${name}` }, g.call);
    const [viaRest] = await rest.services.getService({ name: `${parent}/services/${name}` }, rest.call);
    expect(viaRest).toEqual(viaGrpc);
    expect(viaGrpc.uid).toBe(k.metadata.uid);
    expect(String(viaGrpc.generation)).toBe(String(k.metadata.generation));
    expect(viaGrpc.etag).toBe(k.metadata.resourceVersion);
    expect(viaGrpc.labels).toEqual({ team: 'a' });
    expect(k.metadata.labels).toMatchObject({ team: 'a', 'cloud.googleapis.com/location': R });
    expect(viaGrpc.template?.annotations?.[KEYS.source]).toBe(k.spec.template.metadata.annotations[KEYS.source]);
    expect(viaGrpc.template?.maxInstanceRequestConcurrency).toBe(3);
    expect(k.spec.template.spec.containerConcurrency).toBe(3);
    expect(viaGrpc.template?.scaling?.maxInstanceCount).toBe(4);
    expect(k.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale']).toBe('4');
    expect(Number(viaGrpc.template?.timeout?.seconds)).toBe(45);
    expect(k.spec.template.spec.timeoutSeconds).toBe(45);
    expect(viaGrpc.template?.containers?.[0]?.env).toEqual([expect.objectContaining({ name: 'A', value: '1' })]);
    expect(k.spec.template.spec.containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    expect(viaGrpc.uri).toBe(k.status.url);
    expect(k.status.url).toBe(api.urlOf(name));
    expect(viaGrpc.latestReadyRevision).toBe(`${parent}/services/${name}/revisions/${k.status.latestReadyRevisionName}`);
    expect(viaGrpc.reconciling).toBe(false);
    expect(k.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');

    // The revision too, and both list forms.
    const rev = await v1<KnativeRevision>(`/apis/serving.knative.dev/v1/namespaces/${api.project}/revisions/${k.status.latestReadyRevisionName}`);
    const [gRev] = await g.revisions.getRevision({ name: viaGrpc.latestReadyRevision ?? '' }, g.call);
    expect(gRev.uid).toBe(rev.metadata.uid);
    expect(gRev.service).toBe(`${parent}/services/${name}`);
    expect((JSON.parse(api.kumoCli(['run', 'revisions', 'describe', rev.metadata.name, '--format', 'json'])) as KnativeRevision).metadata.uid).toBe(rev.metadata.uid);
    const listed = await v1<{ items: KnativeService[] }>(`/v1/projects/${api.project}/locations/-/services`);
    expect(listed.items.map((i) => i.metadata.name)).toContain(name);
    const [v2List] = await rest.services.listServices({ parent: `projects/${api.project}/locations/-` }, rest.call);
    expect(v2List.map((s) => s.name)).toContain(`${parent}/services/${name}`);
  });

  it('deployed by the v2 API: kumo\'s CLI sees the same service and revision', async () => {
    const id = uniqueName('v2made');
    const [op] = await g.services.createService({
      parent, serviceId: id,
      service: { labels: { made: 'grpc' }, template: { annotations: { [KEYS.source]: await api.source() }, containers: [{ env: [{ name: 'B', value: '2' }] }], maxInstanceRequestConcurrency: 9 } },
    }, g.call);
    const [svc] = await op.promise();
    const cli = JSON.parse(api.kumoCli(['run', 'services', 'describe', id, '--format', 'json'])) as KnativeService;
    expect(cli.metadata.uid).toBe(svc.uid);
    expect(cli.metadata.resourceVersion).toBe(svc.etag);
    expect(cli.metadata.labels).toMatchObject({ made: 'grpc' });
    expect(cli.spec.template.spec.containerConcurrency).toBe(9);
    expect(cli.spec.template.spec.containers[0]?.env).toEqual([{ name: 'B', value: '2' }]);
    expect(`${parent}/services/${id}/revisions/${cli.status.latestReadyRevisionName}`).toBe(svc.latestReadyRevision);
    const table = api.kumoCli(['run', 'services', 'list']);
    expect(table).toMatch(new RegExp(`\\b${id}\\b.*${api.urlOf(id).replace(/[.:/]/g, '\\$&')}`));
  });

  it('an image deploy pins the digest: v1 and the CLI show it, and v2 reports the failed start', async () => {
    const registry = { base: api.kumo.url, auth: `Bearer ${api.token}` };
    const image = imageOf([await gzipLayer([{ name: 'app', content: Buffer.from('not really an app') }])], { Cmd: ['/app'] });
    await pushImage(registry, 'one/app', 'v1', image);
    const id = uniqueName('img');
    const [op] = await rest.services.createService({ parent, serviceId: id, service: { template: { containers: [{ image: `localhost:${api.kumo.port}/one/app:v1` }] } } }, rest.call);
    await expect(op.promise()).rejects.toMatchObject({ message: expect.stringContaining('install runc') as unknown });
    const [svc] = await g.services.getService({ name: `${parent}/services/${id}` }, g.call);
    const revisionName = svc.latestCreatedRevision?.split('/').pop() ?? '';
    const k = await v1<KnativeRevision>(`/apis/serving.knative.dev/v1/namespaces/${api.project}/revisions/${revisionName}`);
    expect(k.status.imageDigest).toBe(`one/app@${image.manifest.digest}`);
    const cli = JSON.parse(api.kumoCli(['run', 'revisions', 'describe', revisionName, '--format', 'json'])) as KnativeRevision;
    expect(cli.status.imageDigest).toBe(k.status.imageDigest);
    expect(k.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', message: expect.stringContaining('install runc') as unknown });
    const [gRev] = await g.revisions.getRevision({ name: svc.latestCreatedRevision ?? '' }, g.call);
    expect(gRev.containers?.[0]?.image).toBe(`localhost:${api.kumo.port}/one/app:v1`);
    expect(gRev.conditions?.find((c) => c.type === 'Ready')?.message).toContain('install runc');
    // kumo's registry names the revision that holds the image.
    const images = JSON.parse(api.kumoCli(['images', 'describe', 'one/app', '--format', 'json'])) as { versions: { digest: string; usedBy: { revision: string }[] }[] };
    expect(images.versions).toEqual([expect.objectContaining({ digest: image.manifest.digest, usedBy: [expect.objectContaining({ revision: revisionName })] })]);
  });
});
