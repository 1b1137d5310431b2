import { describe, expect, it } from 'vitest';
import { KumoError } from '../shared/errors.js';
import { decodeToJson, encodeFromJson } from './binary-codec.js';
import { jsonToObject, objectToJson } from './json-codec.js';
import type { JsonObject } from './json.types.js';
import { loadProtos, protoDirOf } from './protos.js';

const root = loadProtos([
  { includeDirs: [protoDirOf('@google-cloud/run')], files: ['google/cloud/run/v2/service.proto'] },
  { includeDirs: [], files: ['google/longrunning/operations.proto', 'google/protobuf/wrappers.proto', 'google/protobuf/struct.proto'] },
]);
const Service = root.lookupType('google.cloud.run.v2.Service');
const Operation = root.lookupType('google.longrunning.Operation');
const CreateServiceRequest = root.lookupType('google.cloud.run.v2.CreateServiceRequest');

/** JSON → object form → JSON, as the REST front canonicalises. */
function canonical(type: typeof Service, json: unknown, enumsAsInts = false): JsonObject {
  return objectToJson(root, type, jsonToObject(root, type, json), { enumsAsInts });
}

function violations(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect((err as KumoError).code).toBe('INVALID_ARGUMENT');
    return ((err as KumoError).fields.violations ?? []).map((v) => `${v.field}: ${v.description}`);
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('proto3 JSON mapping', () => {
  it('writes int64 as strings and accepts numbers or strings', () => {
    expect(canonical(Service, { generation: 7, observedGeneration: '9' })).toEqual({ generation: '7', observedGeneration: '9' });
    expect(canonical(Service, { generation: '9223372036854775807' })).toEqual({ generation: '9223372036854775807' });
    expect(violations(() => canonical(Service, { generation: '9223372036854775808' }))[0]).toMatch(/^generation: .*out of range/);
    expect(violations(() => canonical(Service, { generation: 1.5 }))[0]).toMatch(/^generation: expected an integer/);
  });

  it('maps Timestamp and Duration to their string forms, with offsets and fractions', () => {
    const out = canonical(Service, { createTime: '2024-05-01T14:00:00.500+02:00', template: { timeout: '1.250s' } });
    expect(out).toEqual({ createTime: '2024-05-01T12:00:00.500Z', template: { timeout: '1.250s' } });
    expect(violations(() => canonical(Service, { createTime: 'yesterday', template: { timeout: 300 } }))).toEqual([
      'createTime: "yesterday" is not an RFC 3339 timestamp (expected e.g. "2024-05-01T12:00:00Z")',
      'template.timeout: expected a duration string like "300s", got number 300',
    ]);
  });

  it('maps FieldMask between camelCase JSON and snake_case paths', () => {
    const obj = jsonToObject(root, root.lookupType('google.cloud.run.v2.UpdateServiceRequest'), { updateMask: 'template.maxInstanceRequestConcurrency,labels' });
    expect(obj['updateMask']).toEqual({ paths: ['template.max_instance_request_concurrency', 'labels'] });
    expect(objectToJson(root, root.lookupType('google.cloud.run.v2.UpdateServiceRequest'), obj)).toEqual({ updateMask: 'template.maxInstanceRequestConcurrency,labels' });
  });

  it('accepts enum names or numbers and writes names, or numbers for enum-encoding=int', () => {
    expect(canonical(Service, { ingress: 1, launchStage: 'GA' })).toEqual({ ingress: 'INGRESS_TRAFFIC_ALL', launchStage: 'GA' });
    expect(canonical(Service, { ingress: 'INGRESS_TRAFFIC_ALL' }, true)).toEqual({ ingress: 1 });
    expect(violations(() => canonical(Service, { ingress: 99 }))[0]).toMatch(/^ingress: 99 is not a value of google.cloud.run.v2.IngressTraffic/);
  });

  it('maps wrappers and Struct to plain JSON values', () => {
    expect(canonical(root.lookupType('google.protobuf.Int64Value'), '12')).toBe('12');
    const struct = { a: [1, 'two', null, { b: true }] };
    expect(canonical(root.lookupType('google.protobuf.Struct'), struct)).toEqual(struct);
  });

  it('accepts snake_case names, drops nulls, reports unknown fields and wrong shapes with paths', () => {
    expect(canonical(Service, { latest_ready_revision: 'r', description: null })).toEqual({ latestReadyRevision: 'r' });
    expect(violations(() => canonical(Service, { template: { containers: { image: 'x' } }, labels: ['a'], nope: 1 }))).toEqual([
      'template.containers: expected a JSON array (repeated Container), got an object',
      'labels: expected a JSON object (map<string, string>), got an array',
      'nope: unknown field "nope" in google.cloud.run.v2.Service',
    ]);
  });

  it('packs Any as {"@type", ...fields} both ways', () => {
    const op = { name: 'projects/p/locations/l/operations/1', done: true, response: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', name: 'projects/p/locations/l/services/s', generation: '2' } };
    expect(canonical(Operation, op)).toEqual(op);
    expect(violations(() => canonical(Operation, { metadata: { '@type': 'type.googleapis.com/no.Such' } }))[0]).toMatch(/^metadata.@type: unknown type/);
  });
});

describe('protobuf binary', () => {
  const request = { parent: 'projects/p/locations/l', serviceId: 's', service: { template: { containers: [{ image: 'img', ports: [{ containerPort: 8080 }] }], timeout: '60s' }, generation: '3' } };

  it('round-trips a request through bytes', () => {
    const bytes = encodeFromJson(root, CreateServiceRequest, request);
    expect(decodeToJson(root, CreateServiceRequest, bytes)).toEqual(request);
  });

  it('names the field of a wrong wire type', () => {
    // Field 2 (service) sent as a varint instead of a message.
    const bad = Uint8Array.from([0x10, 0x01]);
    try {
      decodeToJson(root, CreateServiceRequest, bad);
      throw new Error('expected failure');
    } catch (err) {
      expect(err).toBeInstanceOf(KumoError);
      expect((err as KumoError).code).toBe('INVALID_ARGUMENT');
      expect((err as KumoError).fields.field).toBe('service');
    }
  });

  it('names the nested field where the bytes run out', () => {
    const good = encodeFromJson(root, CreateServiceRequest, request);
    // parent takes 24 bytes; cut 10 bytes into the service message.
    const truncated = good.subarray(0, 34);
    try {
      decodeToJson(root, CreateServiceRequest, truncated);
      throw new Error('expected failure');
    } catch (err) {
      expect((err as KumoError).code).toBe('INVALID_ARGUMENT');
      expect((err as KumoError).fields.field).toMatch(/^service/);
    }
  });

  it('round-trips Any and Struct through bytes', () => {
    const op = { name: 'o', done: true, response: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { a: [1, 'x', null, { b: false }] } }, metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', name: 's', generation: '4' } };
    expect(decodeToJson(root, Operation, encodeFromJson(root, Operation, op))).toEqual(op);
  });

  it('refuses to encode a response kumo built wrongly, as INTERNAL', () => {
    expect(() => encodeFromJson(root, Service, { generation: 'many' })).toThrow(/kumo built an invalid/);
  });
});
