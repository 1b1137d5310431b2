/**
 * The official @google-cloud/run@3 client, unchanged, against a real `kumo server`'s Google API
 * port: over gRPC (token per call) and over its REST fallback (token in the auth client). Services
 * deploy folders (a `kumo.dev/source` template annotation over an upload to kumo's API) that run
 * as real processes and answer through the front door.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS } from '../../src/serving/service.types.js';
import { call } from '../helpers/kumo.js';
import { grpcClients, restClients } from './fixtures/clients.js';
import type { Clients } from './fixtures/clients.js';
import { startKumoApi } from './fixtures/kumo.js';
import type { KumoApi } from './fixtures/kumo.js';

let api: KumoApi;
let hello: string;
let slow: string;
let crashing: string;
let appsDir: string;
let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid % 1000}-${++seq}`;

/** A folder with one server.js, deployable from source. */
function app(name: string, code: string): string {
  const dir = join(appsDir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, scripts: { start: 'node server.js' } }));
  writeFileSync(join(dir, 'server.js'), code);
  return dir;
}

beforeAll(async () => {
  api = await startKumoApi();
  appsDir = mkdtempSync(join(tmpdir(), 'kumo-gapi-apps-'));
  hello = await api.source();
  // Listens after 1.5 s, so the service is visibly reconciling before it is Ready.
  slow = await api.source(app('slow', "setTimeout(() => require('http').createServer((q, s) => s.end('late\\n')).listen(Number(process.env.PORT)), 1500);\n"));
  crashing = await api.source(app('crashing', "console.error('cannot start: DATABASE_URL is not set');\nprocess.exit(3);\n"));
});
afterAll(async () => {
  await api.close();
  rmSync(appsDir, { recursive: true, force: true });
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

const fromSource = (digest: string) => ({ annotations: { [KEYS.source]: digest }, containers: [{}] });

describe.each([
  ['gRPC', (port: number, token: string) => grpcClients(port, token)],
  ['REST fallback', (port: number, token: string) => restClients(port, token)],
])('@google-cloud/run over %s', (_label, make) => {
  let c: Clients;
  let parent: string;
  beforeAll(() => {
    c = make(api.port, api.token);
    parent = `projects/${api.project}/locations/us-central1`;
  });
  afterAll(async () => {
    await c.close();
  });

  it('creates, waits, gets, lists, updates and deletes a service that really serves', async () => {
    const id = unique('svc');
    const name = `${parent}/services/${id}`;
    const [createOp] = await c.services.createService({
      parent,
      serviceId: id,
      service: { template: { ...fromSource(hello), maxInstanceRequestConcurrency: 7, timeout: { seconds: 30 } } },
    }, c.call);
    expect(createOp.done).toBe(false);
    const [created] = await createOp.promise();
    expect(created.name).toBe(name);
    expect(created.reconciling).toBe(false);
    expect(stateOf(created.terminalCondition?.state)).toBe('CONDITION_SUCCEEDED');
    expect(created.latestReadyRevision).toMatch(new RegExp(`^${name}/revisions/${id}-00001-`));
    expect(created.uri).toBe(api.urlOf(id));
    expect(String(created.generation)).toBe('1');

    const [got] = await c.services.getService({ name }, c.call);
    expect(got.etag).toBe(created.etag);
    expect(got.template?.annotations?.[KEYS.source]).toBe(hello);
    expect(got.template?.maxInstanceRequestConcurrency).toBe(7);
    expect(Number(got.template?.timeout?.seconds)).toBe(30);
    expect(got.creator).toBeTruthy();

    const [list] = await c.services.listServices({ parent }, c.call);
    expect(list.map((s) => s.name)).toContain(name);

    // Public, so the front door serves it without an identity token.
    await c.services.setIamPolicy({ resource: name, policy: { bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] } }, c.call);
    const first = await call(api.kumo, `${id}.localhost`, '/');
    expect(first.status).toBe(200);
    expect(first.body).toMatch(new RegExp(`^Hello from ${id}, revision ${id}-00001-`));

    const [updateOp] = await c.services.updateService({
      service: { ...got, template: { ...got.template, containers: [{ env: [{ name: 'GREETING', value: 'hi' }] }] } },
    }, c.call);
    const [updated] = await updateOp.promise();
    expect(updated.template?.containers?.[0]?.env?.[0]?.value).toBe('hi');
    expect(String(updated.generation)).toBe('2');
    expect(updated.etag).not.toBe(got.etag);
    expect(updated.latestReadyRevision).toMatch(/-00002-/);
    const env = await call(api.kumo, `${id}.localhost`, '/env');
    expect((JSON.parse(env.body) as { env: Record<string, string> }).env['GREETING']).toBe('hi');

    // A stale etag loses the race: ABORTED.
    const stale = await errorOf(c.services.updateService({ service: { ...got, labels: { x: 'y' } } }, c.call));
    expect(stale.code).toBe(10);

    const [revisions] = await c.revisions.listRevisions({ parent: name }, c.call);
    expect(revisions).toHaveLength(2);
    const newest = revisions.find((r) => r.name === updated.latestReadyRevision);
    const [rev] = await c.revisions.getRevision({ name: newest?.name ?? '' }, c.call);
    expect(rev.service).toBe(name);
    expect(rev.containers?.[0]?.env).toEqual([expect.objectContaining({ name: 'GREETING', value: 'hi' })]);

    const [deleteOp] = await c.services.deleteService({ name, etag: updated.etag ?? '' }, c.call);
    const [deleted] = await deleteOp.promise();
    expect(deleted.name).toBe(name);
    const gone = await errorOf(c.services.getService({ name }, c.call));
    expect(gone.code).toBe(5);
    expect((await call(api.kumo, `${id}.localhost`, '/')).status).toBe(404);
  });

  it('reports a reconciling service before its revision is Ready', async () => {
    const id = unique('slow');
    const [op] = await c.services.createService({ parent, serviceId: id, service: { template: fromSource(slow) } }, c.call);
    const [during] = await c.services.getService({ name: `${parent}/services/${id}` }, c.call);
    expect(during.reconciling).toBe(true);
    expect(stateOf(during.terminalCondition?.state)).toBe('CONDITION_RECONCILING');
    const [after] = await op.promise();
    expect(after.reconciling).toBe(false);
    expect(stateOf(after.terminalCondition?.state)).toBe('CONDITION_SUCCEEDED');
  });

  it('fails the operation with the revision\'s reason and its last log line when it never gets Ready', async () => {
    const id = unique('bad');
    const [op] = await c.services.createService({ parent, serviceId: id, service: { template: fromSource(crashing) } }, c.call);
    const err = await errorOf(op.promise());
    // The instance failed to start: UNAVAILABLE, with the app's exit code and last log lines.
    expect(err.code).toBe(14);
    expect(err.message).toMatch(/the app exited with code 3 before it listened on PORT=\d+; last log lines:\s+cannot start: DATABASE_URL is not set/);
    const [svc] = await c.services.getService({ name: `${parent}/services/${id}` }, c.call);
    expect(stateOf(svc.terminalCondition?.state)).toBe('CONDITION_FAILED');
    expect(reasonOf(svc.terminalCondition?.reason)).toBe('REVISION_FAILED');
  });

  it('refuses an image kumo\'s registry does not hold, naming the push that fixes it', async () => {
    const err = await errorOf(c.services.createService({ parent, serviceId: unique('img'), service: { template: { containers: [{ image: 'gcr.io/p/missing:v1' }] } } }, c.call)
      .then(([op]) => op.promise()));
    expect(err.message).toContain(`docker push localhost:${api.kumo.port}/p/missing:v1`);
  });

  it('refuses fields kumo cannot keep, naming them', async () => {
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
  const name = (): string => `projects/${api.project}/locations/us-central1/services/none`;

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

  it('lets token-less loopback calls through only on a server started with --api-open, which warns', async () => {
    const open = await startKumoApi(['--api-open']);
    try {
      expect(open.kumo.output()).toMatch(/WARNING/);
      const c = grpcClients(open.port, undefined);
      const [list] = await c.services.listServices({ parent: `projects/${open.project}/locations/-` }, c.call);
      await c.close();
      expect(list).toEqual([]);
    } finally {
      await open.close();
    }
  });
});
