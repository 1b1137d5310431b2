import { describe, expect, it } from 'vitest';
import { KumoError } from '../../shared/errors.js';
import { notInRegistryError, parseImageReference } from './reference.js';

const KUMO = ['localhost:8080', '127.0.0.1:8080'];

describe('parseImageReference', () => {
  it('reads kumo registry references with tag, digest or neither', () => {
    expect(parseImageReference('localhost:8080/hello:v1', KUMO)).toMatchObject({ host: 'localhost:8080', repository: 'hello', tag: 'v1', digest: undefined });
    expect(parseImageReference('127.0.0.1:8080/team/api', KUMO)).toMatchObject({ repository: 'team/api', tag: 'latest' });
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseImageReference(`localhost:8080/hello@${d}`, KUMO)).toMatchObject({ repository: 'hello', tag: undefined, digest: d });
    expect(parseImageReference('hello:v2', KUMO)).toMatchObject({ host: undefined, repository: 'hello', tag: 'v2' });
  });

  it("maps gcr.io and Artifact Registry names onto the same path in kumo's registry", () => {
    expect(parseImageReference('gcr.io/my-proj/hello:v1', KUMO)).toMatchObject({ repository: 'my-proj/hello', tag: 'v1', mappedFrom: 'gcr.io' });
    expect(parseImageReference('eu.gcr.io/my-proj/hello', KUMO)).toMatchObject({ repository: 'my-proj/hello', mappedFrom: 'gcr.io' });
    expect(parseImageReference('us-central1-docker.pkg.dev/my-proj/repo/hello:v3', KUMO)).toMatchObject({ repository: 'my-proj/repo/hello', tag: 'v3', mappedFrom: 'pkg.dev' });
  });

  it('refuses another registry with the commands that copy the image in', () => {
    let err: unknown;
    try {
      parseImageReference('docker.io/library/nginx:1.25', KUMO);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KumoError);
    expect((err as KumoError).code).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toContain('docker tag docker.io/library/nginx:1.25 localhost:8080/library/nginx:1.25 && docker push localhost:8080/library/nginx:1.25');
  });

  it('names the field and the rule for malformed references', () => {
    expect(() => parseImageReference('', KUMO)).toThrow(/empty/);
    expect(() => parseImageReference('localhost:8080/Hello:v1', KUMO)).toThrow(/lowercase/);
    expect(() => parseImageReference('localhost:8080/hello:-bad', KUMO)).toThrow(/tag "-bad"/);
    expect(() => parseImageReference('localhost:8080/hello@sha256:abc', KUMO)).toThrow(/64 lowercase hex/);
    expect(() => parseImageReference('gcr.io/hello', KUMO)).toThrow(/gcr.io\/PROJECT\/NAME/);
    try {
      parseImageReference('localhost:8080/Hello', KUMO);
    } catch (e) {
      expect((e as KumoError).fields.field).toBe('image');
    }
  });
});

describe('notInRegistryError', () => {
  it('says what was looked for and how to push it', () => {
    const ref = parseImageReference('gcr.io/p/hello:v1', KUMO);
    const err = notInRegistryError(ref, 'localhost:8080');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('no p/hello:v1');
    expect(err.message).toContain('docker tag gcr.io/p/hello:v1 localhost:8080/p/hello:v1 && docker push localhost:8080/p/hello:v1');
  });
});
