/**
 * The official @google-cloud/run@3 client, unchanged, against the Google API port: over gRPC
 * (token per call) and over its REST fallback (token in the auth client). The control plane behind
 * the port is the in-memory test double until the real serving room is on main.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcClients, restClients } from './fixtures/clients.js';
import type { Clients } from './fixtures/clients.js';
import { startApi } from './fixtures/start.js';
import type { Started } from './fixtures/start.js';

let api: Started;
let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid % 1000}-${++seq}`;

beforeAll(async () => {
  api = await startApi({ readyAfterMs: 200 });
});
afterAll(async () => {
  await api.close();
});

interface GaxError {
  code?: number;
  message?: string;
}

/** Clients decode enums in LRO results as numbers and in plain responses as names. */
const STATES = ['STATE_UNSPECIFIED', 'CONDITION_PENDING', 'CONDITION_RECONCILING', 'CONDITION_FAILED', 'CONDITION_SUCCEEDED'];
function stateOf(value: unknown): unknown {
  return typeof value === 'number' ? STATES[value] : value;
}
const REASONS: Record<number, string> = { 3: 'REVISION_FAILED', 6: 'CONTAINER_MISSING' };
function reasonOf(value: unknown): unknown {
  return typeof value === 'number' ? REASONS[value] : value;
}

async function errorOf(p: Promise<unknown>): Promise<GaxError> {
  try {
    await p;
  } catch (err) {
    return err as GaxError;
  }
  throw new Error('expected the call to fail');
}

describe.each([
  ['gRPC', (port: number, token: string) => grpcClients(port, token)],
  ['REST fallback', (port: number, token: string) => restClients(port, token)],
])('@google-cloud/run over %s', (_label, make) => {
  let c: Clients;
  beforeAll(() => {
    c = make(api.port, api.token);
  });
  afterAll(async () => {
    await c.close();
  });

  it('creates, waits, gets, lists, updates and deletes a service', async () => {
    const id = unique('svc');
    const parent = `projects/${api.control.project}/locations/us-central1`;
    const name = `${parent}/services/${id}`;
    const [createOp] = await c.services.createService({
      parent,
      serviceId: id,
      service: { template: { containers: [{ image: 'example.com/hello:1', ports: [{ containerPort: 8080 }] }], maxInstanceRequestConcurrency: 7, timeout: { seconds: 30 } } },
    }, c.call);
    expect(createOp.done).toBe(false);
    const [created] = await createOp.promise();
    expect(created.name).toBe(name);
    expect(created.reconciling).toBe(false);
    expect(stateOf(created.terminalCondition?.state)).toBe('CONDITION_SUCCEEDED');
    expect(created.latestReadyRevision).toMatch(new RegExp(`^${name}/revisions/${id}-00001-`));
    expect(created.uri).toBe(`http://${id}.localhost:8080`);
    expect(String(created.generation)).toBe('1');

    const [got] = await c.services.getService({ name }, c.call);
    expect(got.etag).toBe(created.etag);
    expect(got.template?.containers?.[0]?.image).toBe('example.com/hello:1');
    expect(got.template?.maxInstanceRequestConcurrency).toBe(7);
    expect(Number(got.template?.timeout?.seconds)).toBe(30);
    expect(got.creator).toBe('tester@kumo.test');

    const [list] = await c.services.listServices({ parent }, c.call);
    expect(list.map((s) => s.name)).toContain(name);

    const [updateOp] = await c.services.updateService({
      service: { ...got, template: { ...got.template, containers: [{ image: 'example.com/hello:2' }] } },
    }, c.call);
    const [updated] = await updateOp.promise();
    expect(updated.template?.containers?.[0]?.image).toBe('example.com/hello:2');
    expect(String(updated.generation)).toBe('2');
    expect(updated.etag).not.toBe(got.etag);
    expect(updated.latestReadyRevision).toMatch(/-00002-/);

    // A stale etag loses the race: ABORTED.
    const stale = await errorOf(c.services.updateService({ service: { ...got, labels: { x: 'y' } } }, c.call));
    expect(stale.code).toBe(10);

    const [revisions] = await c.revisions.listRevisions({ parent: name }, c.call);
    expect(revisions).toHaveLength(2);
    const [rev] = await c.revisions.getRevision({ name: revisions[0]?.name ?? '' }, c.call);
    expect(rev.service).toBe(name);
    expect(rev.containers?.[0]?.image).toBe('example.com/hello:2');

    const [deleteOp] = await c.services.deleteService({ name, etag: updated.etag ?? '' }, c.call);
    const [deleted] = await deleteOp.promise();
    expect(deleted.name).toBe(name);
    const gone = await errorOf(c.services.getService({ name }, c.call));
    expect(gone.code).toBe(5);
  });

  it('reports a reconciling service before its revision is Ready', async () => {
    const id = unique('slow');
    const parent = `projects/${api.control.project}/locations/us-central1`;
    const [op] = await c.services.createService({ parent, serviceId: id, service: { template: { containers: [{ image: 'example.com/slow' }] } } }, c.call);
    const [during] = await c.services.getService({ name: `${parent}/services/${id}` }, c.call);
    expect(during.reconciling).toBe(true);
    expect(stateOf(during.terminalCondition?.state)).toBe('CONDITION_RECONCILING');
    const [after] = await op.promise();
    expect(after.reconciling).toBe(false);
  });

  it('fails the operation with the revision\'s reason when it never gets Ready', async () => {
    const id = unique('bad');
    const parent = `projects/${api.control.project}/locations/us-central1`;
    const [op] = await c.services.createService({ parent, serviceId: id, service: { template: { containers: [{ image: 'example.com/fail' }] } } }, c.call);
    const err = await errorOf(op.promise());
    expect(err.code).toBe(9);
    expect(err.message).toMatch(/did not become ready: container failed to start/);
    const [svc] = await c.services.getService({ name: `${parent}/services/${id}` }, c.call);
    expect(stateOf(svc.terminalCondition?.state)).toBe('CONDITION_FAILED');
    expect(reasonOf(svc.terminalCondition?.reason)).toBe('REVISION_FAILED');
  });

  it('refuses fields kumo cannot keep, naming them', async () => {
    const parent = `projects/${api.control.project}/locations/us-central1`;
    const err = await errorOf(c.services.createService({
      parent, serviceId: unique('vpc'),
      service: { annotations: { 'run.googleapis.com/x': 'y' }, template: { vpcAccess: { connector: 'c' }, containers: [{ image: 'i' }] } },
    }, c.call));
    expect(err.code).toBe(3);
    expect(err.message).toMatch(/service\.template\.vpcAccess: kumo does not support this field yet/);
    expect(err.message).toMatch(/service\.annotations\["run\.googleapis\.com\/x"\]/);
  });
});

describe('auth on the Google API port', () => {
  const name = (): string => `projects/${api.control.project}/locations/us-central1/services/none`;

  it('refuses gRPC calls without a token (UNAUTHENTICATED)', async () => {
    const c = grpcClients(api.port, undefined);
    const err = await errorOf(c.services.getService({ name: name() }, c.call));
    await c.close();
    expect(err.code).toBe(16);
    expect(err.message).toMatch(/needs a kumo access token/);
  });

  it('refuses a token signed by another key and an identity token (PERMISSION_DENIED)', async () => {
    for (const token of [api.foreignToken, api.identityToken]) {
      const c = grpcClients(api.port, token);
      const err = await errorOf(c.services.getService({ name: name() }, c.call));
      await c.close();
      expect(err.code).toBe(7);
    }
  });

  it('refuses a garbage token (UNAUTHENTICATED) over REST', async () => {
    const c = restClients(api.port, 'not-a-jwt');
    const err = await errorOf(c.services.getService({ name: name() }, c.call));
    await c.close();
    expect(err.code).toBe(16);
  });

  it('lets token-less loopback calls through only when openOnLoopback is set', async () => {
    const open = await startApi({ openOnLoopback: true });
    try {
      const c = grpcClients(open.port, undefined);
      const [list] = await c.services.listServices({ parent: `projects/${open.control.project}/locations/-` }, c.call);
      await c.close();
      expect(list).toEqual([]);
    } finally {
      await open.close();
    }
  });
});
