/**
 * Calls from inside a real runc instance are the instance's, never the host's: with
 * `kumo server --api-open`, an instance that calls the Google API port (REST and gRPC) or kumo's
 * `/api` through its gateway without a token is refused, and cannot list or create services; the
 * same token-less call from the host's loopback still works. Host networking for a revision
 * (`kumo.dev/network: host`) is refused on every API of a server started without
 * `--allow-host-network`.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProtos, protoDirOf } from '../../src/googleapi/protos.js';
import { adminToken, api, call } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { deployImage, finishRunc, NOTHING_LEFT, pushNodeApp, runcServerSkipReason, startRuncKumo } from './harness.js';

const skip = await runcServerSkipReason();
if (skip) console.log(`instance origin tests on runc skipped: ${skip}`);

const PROJECT = 'kumo-project';
const PARENT = `projects/${PROJECT}/locations/us-central1`;
const root = loadProtos([{ includeDirs: [protoDirOf('@google-cloud/run')], files: ['google/cloud/run/v2/service.proto'] }]);

function encode(type: string, value: Record<string, unknown>): Buffer {
  const t = root.lookupType(type);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

interface HttpReply {
  status?: number;
  body?: string;
  error?: string;
}
interface GrpcReply {
  status?: number;
  message?: string;
  error?: string;
}

describe.skipIf(Boolean(skip))('calls from inside a runc instance carry the instance, not loopback', () => {
  let k: KumoServer & { cidr: string };
  let ref = '';
  let gw = '';

  /** What the probe service's instance gets back for an HTTP call it makes. */
  const fromInside = async (url: string, method = 'GET', body?: unknown): Promise<HttpReply> => {
    const q = new URLSearchParams({ url, method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const r = await call(k, 'probe.localhost', `/call?${q.toString()}`);
    return JSON.parse(r.body) as HttpReply;
  };
  const grpcFromInside = async (path: string, message: Buffer): Promise<GrpcReply> => {
    const q = new URLSearchParams({ host: gw, port: String(k.apiPort), path, body: message.toString('base64') });
    const r = await call(k, 'probe.localhost', `/grpc?${q.toString()}`);
    return JSON.parse(r.body) as GrpcReply;
  };
  const services = async (): Promise<string[]> => (await api<{ items: { metadata: { name: string } }[] }>(k, 'GET', '/api/services')).json.items.map((s) => s.metadata.name);
  const newService = (annotations: Record<string, string> = {}) => ({ template: { annotations, containers: [{ image: ref }] } });

  beforeAll(async () => {
    k = await startRuncKumo(['--api-open']);
    ref = (await pushNodeApp(k, 'origin/app:v1')).ref;
    deployImage(k, 'probe', ref);
    const [a, b, c] = k.cidr.split('.');
    gw = `${a ?? ''}.${b ?? ''}.${c ?? ''}.1`;
  });

  afterAll(async () => {
    if (!k) return;
    expect(await finishRunc(k)).toEqual(NOTHING_LEFT);
  });

  it('refuses REST calls without a token from an instance, with --api-open', async () => {
    const base = `http://${gw}:${k.apiPort}`;
    const list = await fromInside(`${base}/v2/${PARENT}/services`);
    expect(list.error).toBeUndefined();
    expect(list.status).toBe(401);
    expect(list.body).toContain('UNAUTHENTICATED');
    // The refusal names the caller kumo saw: the probe's instance, by its own address.
    expect(list.body).toMatch(/came from instance probe-\S+ of revision probe-\S+ \(runc, 10\./);
    const v1list = await fromInside(`${base}/apis/serving.knative.dev/v1/namespaces/${PROJECT}/services`);
    expect(v1list.status).toBe(401);
    const created = await fromInside(`${base}/v2/${PARENT}/services?serviceId=evil-v2`, 'POST', newService());
    expect(created.status).toBe(401);
    const v1created = await fromInside(`${base}/apis/serving.knative.dev/v1/namespaces/${PROJECT}/services`, 'POST', {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'evil-v1' },
      spec: { template: { spec: { containers: [{ image: ref }] } } },
    });
    expect(v1created.status).toBe(401);
    expect(await services()).not.toContain('evil-v2');
    expect(await services()).not.toContain('evil-v1');
  });

  it('refuses gRPC calls without a token from an instance, with --api-open', async () => {
    const list = await grpcFromInside('/google.cloud.run.v2.Services/ListServices', encode('google.cloud.run.v2.ListServicesRequest', { parent: PARENT }));
    expect(list.error).toBeUndefined();
    expect(list.status).toBe(16);
    const create = await grpcFromInside(
      '/google.cloud.run.v2.Services/CreateService',
      encode('google.cloud.run.v2.CreateServiceRequest', { parent: PARENT, serviceId: 'evil-grpc', service: newService() }),
    );
    expect(create.status).toBe(16);
    expect(await services()).not.toContain('evil-grpc');
  });

  it("refuses kumo's /api without a token from an instance", async () => {
    const base = `http://${gw}:${k.port}`;
    expect((await fromInside(`${base}/api/services`)).status).toBe(401);
    const created = await fromInside(`${base}/api/services`, 'POST', { metadata: { name: 'evil-api' }, spec: { template: { spec: { containers: [{ image: ref }] } } } });
    expect(created.status).toBe(401);
    expect(await services()).not.toContain('evil-api');
  });

  it('still answers token-less calls from the host loopback with --api-open (REST and gRPC)', async () => {
    const rest = await fetch(`http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services`);
    expect(rest.status).toBe(200);
    const listed = (await rest.json()) as { services?: { name: string }[] };
    expect(listed.services?.map((s) => s.name)).toContain(`${PARENT}/services/probe`);
    const client = new grpc.Client(`127.0.0.1:${k.apiPort}`, grpc.credentials.createInsecure());
    const id = (b: Buffer): Buffer => b;
    const reply = await new Promise<grpc.ServiceError | Buffer>((resolve) => {
      client.makeUnaryRequest('/google.cloud.run.v2.Services/ListServices', id, id, encode('google.cloud.run.v2.ListServicesRequest', { parent: PARENT }), new grpc.Metadata(), (err, value) => {
        client.close();
        resolve(err ?? (value as Buffer));
      });
    });
    expect(reply).toBeInstanceOf(Buffer);
  });

  it('refuses the host-network annotation on every API of a server started without --allow-host-network', async () => {
    const host = { 'kumo.dev/network': 'host' };
    const viaApi = await api<{ error: { message: string } }>(k, 'POST', '/api/services', {
      metadata: { name: 'hostnet-api' },
      spec: { template: { metadata: { annotations: host }, spec: { containers: [{ image: ref }] } } },
    });
    expect(viaApi.status).toBe(400);
    expect(viaApi.json.error.message).toContain('--allow-host-network');
    const auth = { authorization: `Bearer ${adminToken(k)}`, 'content-type': 'application/json' };
    const v2 = await fetch(`http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services?serviceId=hostnet-v2`, { method: 'POST', headers: auth, body: JSON.stringify(newService(host)) });
    expect(v2.status).toBe(400);
    expect(await v2.text()).toContain('--allow-host-network');
    const v1 = await fetch(`http://127.0.0.1:${k.apiPort}/apis/serving.knative.dev/v1/namespaces/${PROJECT}/services`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hostnet-v1' }, spec: { template: { metadata: { annotations: host }, spec: { containers: [{ image: ref }] } } } }),
    });
    expect(v1.status).toBe(400);
    expect(await v1.text()).toContain('--allow-host-network');
    // Token-less from the host with --api-open: refused the same way.
    const open = await fetch(`http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services?serviceId=hostnet-open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(newService(host)),
    });
    expect(open.status).toBe(400);
    const names = await services();
    for (const n of ['hostnet-api', 'hostnet-v2', 'hostnet-v1', 'hostnet-open']) expect(names).not.toContain(n);
  });
});
