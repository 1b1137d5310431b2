import { describe, expect, it } from 'vitest';
import type { Service } from '../serving/service.types.js';
import { buildDeployInput, parseEnvPairs, parseTimeoutSeconds } from './deploy-template.js';

const digest = `sha256:${'a'.repeat(64)}`;

function existing(): Service {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'p', uid: 'u', generation: 2, resourceVersion: '7', creationTimestamp: '', labels: { 'cloud.googleapis.com/location': 'us-central1' }, annotations: { 'serving.knative.dev/creator': 'admin' } },
    spec: {
      template: {
        metadata: { name: 'hello-00002-abc', annotations: { 'kumo.dev/source': digest, 'autoscaling.knative.dev/maxScale': '100' } },
        spec: { containerConcurrency: 80, timeoutSeconds: 300, containers: [{ env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
    status: { observedGeneration: 2, conditions: [], traffic: [{ revisionName: 'hello-00002-abc', percent: 100, latestRevision: true }] },
  };
}

describe('buildDeployInput', () => {
  it('carries the current template over and applies only given flags', () => {
    const input = buildDeployInput('hello', existing(), { updateEnv: { B: '3', C: '4' }, removeEnv: ['A'], concurrency: 10, maxInstances: 3 });
    const t = input.spec.template;
    expect(t.spec.containers[0]?.env).toEqual([{ name: 'B', value: '3' }, { name: 'C', value: '4' }]);
    expect(t.spec.containerConcurrency).toBe(10);
    expect(t.spec.timeoutSeconds).toBe(300);
    expect(t.metadata.annotations?.['kumo.dev/source']).toBe(digest);
    expect(t.metadata.annotations?.['autoscaling.knative.dev/maxScale']).toBe('3');
    expect(t.metadata.name).toBeUndefined();
    expect(input.metadata.resourceVersion).toBe('7');
    expect(input.metadata.labels).toEqual({});
  });

  it('replaces env with --set-env-vars and switches source to image', () => {
    const t = buildDeployInput('hello', existing(), { setEnv: { X: 'y' }, image: 'localhost:8080/hello:v2' }).spec.template;
    expect(t.spec.containers[0]?.env).toEqual([{ name: 'X', value: 'y' }]);
    expect(t.spec.containers[0]?.image).toBe('localhost:8080/hello:v2');
    expect(t.metadata.annotations?.['kumo.dev/source']).toBeUndefined();
  });

  it('keeps traffic where it is with --no-traffic and tags the new revision', () => {
    const input = buildDeployInput('hello', existing(), { noTraffic: true, tag: 'canary', revisionName: 'hello-canary1', sourceDigest: digest });
    expect(input.spec.traffic).toEqual([
      { revisionName: 'hello-00002-abc', percent: 100 },
      { revisionName: 'hello-canary1', percent: 0, tag: 'canary' },
    ]);
  });

  it('stamps each deploy so it makes a new revision even when nothing else changed', () => {
    const a = buildDeployInput('hello', existing(), { deployedAt: '2026-01-01T00:00:00.000Z' }).spec.template;
    expect(a.metadata.annotations?.['client.knative.dev/updateTimestamp']).toBe('2026-01-01T00:00:00.000Z');
  });

  it('needs code for a new service', () => {
    expect(() => buildDeployInput('new', undefined, {})).toThrow(/give --source DIR or --image IMAGE/);
  });

  it('parses env pairs and timeouts', () => {
    expect(parseEnvPairs(['A=1', 'B=x=y'], 'set-env-vars')).toEqual({ A: '1', B: 'x=y' });
    expect(() => parseEnvPairs(['A'], 'set-env-vars')).toThrow(/--set-env-vars takes KEY=VALUE/);
    expect(parseTimeoutSeconds('5m')).toBe(300);
    expect(() => parseTimeoutSeconds('3601')).toThrow(/--timeout must be from 1 to 3600/);
  });
});
