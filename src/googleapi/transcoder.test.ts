import { describe, expect, it } from 'vitest';
import { KumoError } from '../shared/errors.js';
import { loadProtos, protoDirOf } from './protos.js';
import { Transcoder, bindingsOf } from './transcoder.js';
import type { TranscodeMatch } from './transcoder.js';

// Routes come from the real annotations in the protos Google's npm packages ship.
const root = loadProtos([
  { includeDirs: [protoDirOf('@google-cloud/run')], files: ['google/cloud/run/v2/service.proto', 'google/cloud/run/v2/revision.proto'] },
  { includeDirs: [protoDirOf('@google-cloud/pubsub')], files: ['google/pubsub/v1/pubsub.proto'] },
  { includeDirs: [], files: ['google/longrunning/operations.proto'] },
]);
const services = ['google.cloud.run.v2.Services', 'google.cloud.run.v2.Revisions', 'google.pubsub.v1.Publisher', 'google.longrunning.Operations'];
const runOperationRules = [
  { selector: 'google.longrunning.Operations.GetOperation', get: '/v2/{name=projects/*/locations/*/operations/*}' },
  { selector: 'google.longrunning.Operations.WaitOperation', post: '/v2/{name=projects/*/locations/*/operations/*}:wait', body: '*' },
];
const t = new Transcoder(root, bindingsOf(root, services, runOperationRules));

function match(method: string, path: string): TranscodeMatch {
  const m = t.match(method, path);
  if (!m || 'methodMismatch' in m) throw new Error(`no match for ${method} ${path}`);
  return m;
}

function request(method: string, pathAndQuery: string, body = ''): { rpc: string; req: Record<string, unknown> } {
  const url = new URL(pathAndQuery, 'http://x');
  const m = match(method, url.pathname);
  return { rpc: m.binding.rpc, req: t.request(m, url.searchParams, body) };
}

function violationsOf(fn: () => unknown): { field: string; description: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KumoError);
    expect((err as KumoError).code).toBe('INVALID_ARGUMENT');
    return (err as KumoError).fields.violations ?? [];
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('routes from google.api.http annotations', () => {
  it('binds path variables with multi-segment patterns', () => {
    expect(request('GET', '/v2/projects/p1/locations/us-central1/services/hello')).toEqual({
      rpc: 'google.cloud.run.v2.Services.GetService',
      req: { name: 'projects/p1/locations/us-central1/services/hello' },
    });
  });

  it('distinguishes collection and resource paths, and additional_bindings', () => {
    expect(request('GET', '/v2/projects/p/locations/l/services').rpc).toBe('google.cloud.run.v2.Services.ListServices');
    expect(request('GET', '/v2/projects/p/locations/l/workerPools/w/revisions/r').rpc).toBe('google.cloud.run.v2.Revisions.GetRevision');
    expect(request('GET', '/v2/projects/p/locations/l/services/s/revisions/r').req).toEqual({ name: 'projects/p/locations/l/services/s/revisions/r' });
  });

  it('matches ** across segments (google.longrunning /v1/{name=operations/**})', () => {
    expect(request('GET', '/v1/operations/a/b/c')).toEqual({ rpc: 'google.longrunning.Operations.GetOperation', req: { name: 'operations/a/b/c' } });
    expect(request('DELETE', '/v1/operations/x/y').rpc).toBe('google.longrunning.Operations.DeleteOperation');
  });

  it('routes :verb suffixes to their own RPC, never to the verb-less one', () => {
    expect(request('POST', '/v1/operations/a/b:cancel').rpc).toBe('google.longrunning.Operations.CancelOperation');
    expect(request('POST', '/v2/projects/p/locations/l/operations/o1:wait', '{"timeout":"5s"}')).toEqual({
      rpc: 'google.longrunning.Operations.WaitOperation',
      req: { name: 'projects/p/locations/l/operations/o1', timeout: '5s' },
    });
    expect(request('POST', '/v2/projects/p/locations/l/services/s:setIamPolicy', '{"policy":{"version":3}}').rpc).toBe('google.cloud.run.v2.Services.SetIamPolicy');
    expect(t.match('GET', '/v2/projects/p/locations/l/services/s:bogus')).toBeUndefined();
  });

  it('reports a known path with the wrong method', () => {
    const m = t.match('PUT', '/v2/projects/p/locations/l/services/s');
    expect(m && 'methodMismatch' in m ? [...m.methodMismatch].sort() : m).toEqual(['DELETE', 'GET', 'PATCH']);
  });

  it('decodes percent-encoded path segments', () => {
    expect(request('GET', '/v1/projects/p/topics/a%20b').req).toEqual({ topic: 'projects/p/topics/a b' });
  });
});

describe('bodies', () => {
  it('puts a field body (body: "service") into that field, with the path variable on top', () => {
    const { rpc, req } = request('PATCH', '/v2/projects/p/locations/l/services/s?allowMissing=true&validateOnly=true',
      JSON.stringify({ labels: { a: 'b' }, template: { timeout: '30s', maxInstanceRequestConcurrency: 10 } }));
    expect(rpc).toBe('google.cloud.run.v2.Services.UpdateService');
    expect(req).toEqual({
      service: { name: 'projects/p/locations/l/services/s', labels: { a: 'b' }, template: { timeout: '30s', maxInstanceRequestConcurrency: 10 } },
      validateOnly: true,
      allowMissing: true,
    });
  });

  it('takes the whole request from a body: "*" rule and refuses query fields there', () => {
    expect(request('POST', '/v1/projects/p/topics/t:publish', '{"messages":[{"data":"aGk="}]}').req).toEqual({
      topic: 'projects/p/topics/t', messages: [{ data: 'aGk=' }],
    });
    const v = violationsOf(() => request('POST', '/v1/projects/p/topics/t:publish?messages=1', '{}'));
    expect(v[0]?.field).toBe('messages');
  });

  it('refuses a body on a method without one', () => {
    expect(violationsOf(() => request('GET', '/v2/projects/p/locations/l/services/s', '{"x":1}'))[0]?.field).toBe('body');
  });

  it('reports malformed JSON as INVALID_ARGUMENT on body', () => {
    const v = violationsOf(() => request('POST', '/v2/projects/p/locations/l/services?serviceId=s', '{"template": '));
    expect(v[0]?.field).toBe('body');
    expect(v[0]?.description).toMatch(/not valid JSON/);
  });

  it('names every wrong field with its path', () => {
    const body = { template: { containers: [{ image: 5, ports: [{ containerPort: 'x' }] }], timeout: '5 minutes' }, bogus: 1, ingress: 'NOPE' };
    const v = violationsOf(() => request('POST', '/v2/projects/p/locations/l/services?serviceId=s', JSON.stringify(body)));
    expect(v.map((x) => x.field).sort()).toEqual([
      'service.bogus', 'service.ingress', 'service.template.containers[0].image',
      'service.template.containers[0].ports[0].containerPort', 'service.template.timeout',
    ]);
    expect(v.find((x) => x.field === 'service.ingress')?.description).toMatch(/INGRESS_TRAFFIC_ALL/);
  });
});

describe('query parameters', () => {
  it('fills scalar fields, accepting proto and JSON names', () => {
    expect(request('GET', '/v2/projects/p/locations/l/services?page_size=5&pageToken=abc&showDeleted=true&alt=json').req).toEqual({
      parent: 'projects/p/locations/l', pageSize: 5, pageToken: 'abc', showDeleted: true,
    });
  });

  it('fills nested fields through dots', () => {
    expect(request('GET', '/v2/projects/p/locations/l/services/s:getIamPolicy?options.requestedPolicyVersion=3').req).toEqual({
      resource: 'projects/p/locations/l/services/s', options: { requestedPolicyVersion: 3 },
    });
  });

  it('ignores system parameters, including $alt=json;enum-encoding=int', () => {
    expect(request('GET', '/v2/projects/p/locations/l/services/s?%24alt=json%3Benum-encoding%3Dint&prettyPrint=false').req).toEqual({
      name: 'projects/p/locations/l/services/s',
    });
  });

  it('takes FieldMask and repeated values from the query', () => {
    const { req } = request('PATCH', '/v2/projects/p/locations/l/services/s?updateMask=template.containers,launch_stage', '{}');
    expect(req['updateMask']).toBe('template.containers,launchStage');
    const list = request('GET', '/v1/projects/p/topics/t/subscriptions?pageSize=2');
    expect(list.rpc).toBe('google.pubsub.v1.Publisher.ListTopicSubscriptions');
  });

  it('rejects unknown, badly typed and message-valued parameters, naming each', () => {
    const v = violationsOf(() => request('GET', '/v2/projects/p/locations/l/services?pageSize=ten&colour=red&showDeleted=maybe'));
    expect(v.map((x) => x.field).sort()).toEqual(['colour', 'pageSize', 'showDeleted']);
    const w = violationsOf(() => request('PATCH', '/v2/projects/p/locations/l/services/s?service.template=x', '{}'));
    expect(w[0]?.description).toMatch(/send it in the JSON body/);
  });
});
