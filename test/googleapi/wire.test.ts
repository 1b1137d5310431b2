/**
 * The port's wire behaviour with plain HTTP and a raw gRPC client: bad bodies are INVALID_ARGUMENT
 * naming the field (both ways), errors carry google.rpc.Status, `$alt=json;enum-encoding=int`
 * works, and one resource reads the same through v1 REST, v2 REST and v2 gRPC.
 */
import * as grpc from '@grpc/grpc-js';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProtos } from '../../src/googleapi/protos.js';
import { grpcClients, restClients } from './fixtures/clients.js';
import { startApi } from './fixtures/start.js';
import type { Started } from './fixtures/start.js';

let api: Started;
let base: string;
const P = (): string => `projects/${api.control.project}/locations/us-central1`;

beforeAll(async () => {
  api = await startApi({ readyAfterMs: 100 });
  base = `http://127.0.0.1:${api.port}`;
});
afterAll(async () => {
  await api.close();
});

async function call(method: string, path: string, body?: string, token: string | null = api.token): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface RestError {
  code: number;
  status: string;
  message: string;
  details: { '@type': string; fieldViolations?: { field: string; description: string }[] }[];
}

const violationsOf = (e: RestError): string[] => e.details.flatMap((d) => d.fieldViolations ?? []).map((v) => v.field);

describe('REST errors are google.rpc.Status', () => {
  it('refuses a call without a token with 401 UNAUTHENTICATED', async () => {
    const r = await call('GET', `/v2/${P()}/services`, undefined, null);
    expect(r.status).toBe(401);
    expect((r.json['error'] as RestError).status).toBe('UNAUTHENTICATED');
  });

  it('answers malformed JSON with 400 INVALID_ARGUMENT on the body', async () => {
    const r = await call('POST', `/v2/${P()}/services?serviceId=x`, '{"template": {');
    expect(r.status).toBe(400);
    const e = r.json['error'] as RestError;
    expect(e.status).toBe('INVALID_ARGUMENT');
    expect(violationsOf(e)).toEqual(['body']);
  });

  it('names every badly typed field', async () => {
    const body = JSON.stringify({ template: { containers: [{ image: 1 }], maxInstanceRequestConcurrency: 'lots' }, generation: {} });
    const r = await call('POST', `/v2/${P()}/services?serviceId=x`, body);
    const e = r.json['error'] as RestError;
    expect(r.status).toBe(400);
    expect(violationsOf(e).sort()).toEqual(['service.generation', 'service.template.containers[0].image', 'service.template.maxInstanceRequestConcurrency']);
  });

  it('answers unknown paths with 404 and unimplemented RPCs with 501', async () => {
    expect((await call('GET', '/v9/nothing')).status).toBe(404);
    const r = await call('POST', '/v1/operations/x:cancel', '{}');
    expect(r.status).toBe(501);
    expect((r.json['error'] as RestError).message).toMatch(/google.longrunning.Operations.CancelOperation/);
  });

  it('answers v1 bodies that do not parse or fit with field names', async () => {
    const r = await call('POST', `/apis/serving.knative.dev/v1/namespaces/${api.control.project}/services`, JSON.stringify({ metadata: { name: 'a' }, spec: { template: { spec: { containers: [{ image: 'i', livenessProbe: { tcpSocket: {} } }], containerConcurrency: 'x' } } } }));
    expect(r.status).toBe(400);
    expect(violationsOf(r.json['error'] as RestError).sort()).toEqual(['spec.template.spec.containerConcurrency', 'spec.template.spec.containers[0].livenessProbe']);
  });
});

describe('enum encodings', () => {
  it('writes enum names by default and numbers for $alt=json;enum-encoding=int', async () => {
    const created = await call('POST', `/v2/${P()}/services?serviceId=enums`, JSON.stringify({ ingress: 'INGRESS_TRAFFIC_ALL', template: { containers: [{ image: 'i' }] } }));
    expect(created.status).toBe(200);
    const byName = await call('GET', `/v2/${P()}/services/enums?alt=json`);
    expect(byName.json['ingress']).toBe('INGRESS_TRAFFIC_ALL');
    const byNumber = await call('GET', `/v2/${P()}/services/enums?%24alt=json%3Benum-encoding%3Dint`);
    expect(byNumber.json['ingress']).toBe(1);
    expect(byNumber.json['generation']).toBe('1');
  });
});

describe('gRPC with a raw client', () => {
  const root = loadProtos([{ includeDirs: [], files: ['google/rpc/status.proto', 'google/rpc/error_details.proto'] }]);
  const id = (b: Buffer): Buffer => b;

  function rawCall(path: string, body: Buffer, token: string | undefined): Promise<grpc.ServiceError | Buffer> {
    const client = new grpc.Client(`127.0.0.1:${api.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, id, id, body, md, (err, value) => {
        client.close();
        resolve(err ?? (value as Buffer));
      });
    });
  }

  it('answers a malformed protobuf body with INVALID_ARGUMENT naming the field, details in grpc-status-details-bin', async () => {
    // CreateServiceRequest field 2 (service) sent with a varint wire type.
    const err = await rawCall('/google.cloud.run.v2.Services/CreateService', Buffer.from([0x0a, 0x01, 0x70, 0x10, 0x05]), api.token);
    expect(err).toBeInstanceOf(Error);
    const e = err as grpc.ServiceError;
    expect(e.code).toBe(3);
    expect(e.details).toMatch(/^service: wire type 0/);
    const [bin] = e.metadata.get('grpc-status-details-bin');
    const Status = root.lookupType('google.rpc.Status');
    const status = Status.decode(bin as Buffer) as unknown as { code: number; details: { type_url: string; value: Uint8Array }[] };
    expect(status.code).toBe(3);
    const bad = status.details.find((d) => d.type_url.endsWith('google.rpc.BadRequest'));
    const BadRequest = root.lookupType('google.rpc.BadRequest');
    const decoded = BadRequest.toObject(BadRequest.decode(bad?.value ?? new Uint8Array())) as { fieldViolations: { field: string }[] };
    expect(decoded.fieldViolations[0]?.field).toBe('service');
  });

  it('answers a streaming or unknown method clearly', async () => {
    const err = (await rawCall('/google.cloud.run.v2.Services/Nope', Buffer.alloc(0), api.token)) as grpc.ServiceError;
    expect(err.code).toBe(12);
  });

  it('checks auth before decoding', async () => {
    const err = (await rawCall('/google.cloud.run.v2.Services/GetService', Buffer.from([0xff]), undefined)) as grpc.ServiceError;
    expect(err.code).toBe(16);
  });
});

describe('one resource, three ways', () => {
  it('reads the same through v1 REST, v2 REST and v2 gRPC', async () => {
    const g = grpcClients(api.port, api.token);
    const r = restClients(api.port, api.token);
    try {
      const [op] = await g.services.createService({
        parent: P(), serviceId: 'same',
        service: { labels: { team: 'a' }, annotations: { note: 'n' }, template: { containers: [{ image: 'example.com/same:1', env: [{ name: 'A', value: '1' }] }], maxInstanceRequestConcurrency: 3, scaling: { maxInstanceCount: 4 } } },
      }, g.call);
      await op.promise();
      const [viaGrpc] = await g.services.getService({ name: `${P()}/services/same` }, g.call);
      const [viaRest] = await r.services.getService({ name: `${P()}/services/same` }, r.call);
      const v1 = (await call('GET', `/apis/serving.knative.dev/v1/namespaces/${api.control.project}/services/same?alt=json`)).json as {
        metadata: { generation: number; resourceVersion: string; labels: Record<string, string>; annotations: Record<string, string>; uid: string };
        spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containerConcurrency: number; containers: { image: string }[] } } };
        status: { conditions: { type: string; status: string }[]; latestReadyRevisionName: string };
      };
      const v1List = (await call('GET', `/v1/projects/${api.control.project}/locations/-/services?alt=json`)).json as { items: { metadata: { name: string } }[] };
      for (const s of [viaGrpc, viaRest]) {
        expect(s.uid).toBe(v1.metadata.uid);
        expect(String(s.generation)).toBe(String(v1.metadata.generation));
        expect(s.etag).toBe(v1.metadata.resourceVersion);
        expect(s.labels).toEqual({ team: 'a' });
        expect(s.annotations).toEqual({ note: 'n' });
        expect(s.template?.containers?.[0]?.image).toBe(v1.spec.template.spec.containers[0]?.image);
        expect(s.template?.maxInstanceRequestConcurrency).toBe(v1.spec.template.spec.containerConcurrency);
        expect(s.template?.scaling?.maxInstanceCount).toBe(4);
        expect(s.latestReadyRevision?.endsWith(`/revisions/${v1.status.latestReadyRevisionName}`)).toBe(true);
      }
      expect(v1.metadata.labels['team']).toBe('a');
      expect(v1.metadata.labels['cloud.googleapis.com/location']).toBe('us-central1');
      expect(v1.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale']).toBe('4');
      expect(v1.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(v1List.items.map((i) => i.metadata.name)).toContain('same');
    } finally {
      await g.close();
      await r.close();
    }
  });

  it('works over REST with google-auth-library\'s OAuth2Client holding the token', async () => {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: api.token, expiry_date: Date.now() + 3600_000 });
    const r = restClients(api.port, undefined, auth);
    try {
      const [list] = await r.services.listServices({ parent: P() });
      expect(list.length).toBeGreaterThan(0);
    } finally {
      await r.close();
    }
  });
});

