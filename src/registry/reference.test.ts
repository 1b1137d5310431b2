import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { checkName, isValidName, isValidTag, parseDigest, parseImageReference, parseManifestReference } from './reference.js';

function ociCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RegistryError ? err.ociCode : 'not a RegistryError';
  }
  return undefined;
}

describe('repository names', () => {
  it('follows the spec grammar', () => {
    for (const ok of ['a', 'hello', 'team/api', 'a/b/c/d', 'my-app', 'my--app', 'my_app', 'my__app', 'v1.2', 'x0/y1', 'gcr.io']) {
      expect(isValidName(ok), ok).toBe(true);
    }
    for (const bad of ['', 'A', 'Hello', 'a/', '/a', 'a//b', '-a', 'a-', 'a___b', 'a..b', 'a._b', 'a b', 'a:b', 'a@b', `${'a'.repeat(256)}`]) {
      expect(isValidName(bad), bad).toBe(false);
    }
    expect(isValidName('a'.repeat(255))).toBe(true);
  });

  it('checkName throws NAME_INVALID explaining the rule', () => {
    expect(ociCode(() => checkName('Upper'))).toBe('NAME_INVALID');
    expect(() => checkName('x'.repeat(300))).toThrow(/limit is 255/);
    expect(ociCode(() => checkName('fine/name'))).toBeUndefined();
  });
});

describe('tags and digests', () => {
  it('tags: 1-128 of [A-Za-z0-9_.-], not starting with . or -', () => {
    for (const ok of ['v1', 'latest', 'V1.2.3-rc_1', '_x', '0', 'a'.repeat(128)]) expect(isValidTag(ok), ok).toBe(true);
    for (const bad of ['', '.x', '-x', 'a'.repeat(129), 'a/b', 'a:b', 'a b']) expect(isValidTag(bad), bad).toBe(false);
  });

  it('digests: grammar plus lowercase hex of the right length for sha256 and sha512', () => {
    const hex = 'a'.repeat(64);
    expect(parseDigest(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', hex, text: `sha256:${hex}` });
    expect(parseDigest(`sha512:${'b'.repeat(128)}`)?.algorithm).toBe('sha512');
    expect(parseDigest(`multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8`)?.algorithm).toBe('multihash+base58');
    for (const bad of [`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha512:${'a'.repeat(64)}`, 'sha256', ':abc', 'SHA256:abc', 'sha256:ab/c']) {
      expect(parseDigest(bad), bad).toBeUndefined();
    }
  });

  it('manifest references: a tag, or a sha256 digest', () => {
    expect(parseManifestReference('v1')).toEqual({ kind: 'tag', tag: 'v1' });
    expect(parseManifestReference(`sha256:${'c'.repeat(64)}`).kind).toBe('digest');
    expect(ociCode(() => parseManifestReference('.bad'))).toBe('MANIFEST_INVALID');
    expect(ociCode(() => parseManifestReference('sha256:nothex'))).toBe('DIGEST_INVALID');
    expect(ociCode(() => parseManifestReference(`sha512:${'d'.repeat(128)}`))).toBe('DIGEST_INVALID');
  });
});

describe('image references users type', () => {
  const d = `sha256:${'e'.repeat(64)}`;
  it.each([
    ['hello', { repository: 'hello' }],
    ['hello:v1', { repository: 'hello', tag: 'v1' }],
    ['localhost:8080/hello:v1', { host: 'localhost:8080', repository: 'hello', tag: 'v1' }],
    ['localhost/team/api', { host: 'localhost', repository: 'team/api' }],
    ['127.0.0.1:5000/a/b:c', { host: '127.0.0.1:5000', repository: 'a/b', tag: 'c' }],
    ['gcr.io/my-project/app:v3', { host: 'gcr.io', repository: 'my-project/app', tag: 'v3' }],
    ['us-docker.pkg.dev/p/r/img:1.0', { host: 'us-docker.pkg.dev', repository: 'p/r/img', tag: '1.0' }],
    [`hello@${d}`, { repository: 'hello', digest: d }],
    [`localhost:8080/hello:v1@${d}`, { host: 'localhost:8080', repository: 'hello', tag: 'v1', digest: d }],
    ['team/api', { repository: 'team/api' }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  it('refuses what breaks the grammar', () => {
    expect(ociCode(() => parseImageReference('Hello:v1'))).toBe('NAME_INVALID');
    expect(ociCode(() => parseImageReference('hello:.v1'))).toBe('MANIFEST_INVALID');
    expect(ociCode(() => parseImageReference('hello@sha256:123'))).toBe('DIGEST_INVALID');
    expect(ociCode(() => parseImageReference('gcr.io/'))).toBe('NAME_INVALID');
  });
});
