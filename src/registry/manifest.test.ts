import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { MEDIA_TYPES, baseMediaType, parseManifest, pickPlatform } from './manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const image = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: MEDIA_TYPES.ociConfig, digest: d('a'), size: 10 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 20 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('c'), size: 30, urls: ['https://example.com/c'] },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 20 },
  ],
};
const buf = (x: unknown): Buffer => Buffer.from(JSON.stringify(x));

function invalidField(bytes: Buffer, ct?: string): string | undefined {
  try {
    parseManifest(bytes, ct);
  } catch (err) {
    if (err instanceof RegistryError && err.ociCode === 'MANIFEST_INVALID') return err.fields.field ?? '(none)';
    throw err;
  }
  return undefined;
}

describe('parseManifest', () => {
  it('reads an OCI image: the blobs it needs (not foreign layers, once each) and its artifact type', () => {
    const m = parseManifest(buf(image), MEDIA_TYPES.ociManifest);
    expect(m.kind).toBe('image');
    expect(m.blobDigests).toEqual([d('a'), d('b')]);
    expect(m.manifestDigests).toEqual([]);
    expect(m.artifactType).toBe(MEDIA_TYPES.ociConfig);
    expect(m.layers).toHaveLength(3);
  });

  it('reads an index, subject and annotations; an explicit artifactType wins', () => {
    const idx = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      artifactType: 'application/vnd.example',
      manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('1'), size: 5, platform: { os: 'linux', architecture: 'amd64' } }],
      subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('2'), size: 7 },
      annotations: { a: 'b' },
    };
    const m = parseManifest(buf(idx), MEDIA_TYPES.ociIndex);
    expect(m).toMatchObject({ kind: 'index', manifestDigests: [d('1')], blobDigests: [], artifactType: 'application/vnd.example', annotations: { a: 'b' } });
    expect(m.subject?.digest).toBe(d('2'));
  });

  it('takes the media type from Content-Type when the body has none (umoci), ignoring parameters', () => {
    const { mediaType: _omit, ...bare } = image;
    expect(parseManifest(buf(bare), `${MEDIA_TYPES.dockerManifest}; charset=utf-8`).mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(parseManifest(buf(bare), undefined).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(baseMediaType(' Application/JSON ; q=1')).toBe('application/json');
  });

  it('names the offending field', () => {
    expect(invalidField(Buffer.from('{'))).toBe('(none)');
    expect(invalidField(buf({ ...image, schemaVersion: 3 }))).toBe('schemaVersion');
    expect(invalidField(buf(image), MEDIA_TYPES.dockerManifest)).toBe('mediaType');
    expect(invalidField(buf({ ...image, config: undefined }))).toBe('config');
    expect(invalidField(buf({ ...image, layers: [{ ...image.layers[0], size: 1.5 }] }))).toBe('layers[0].size');
    expect(invalidField(buf({ ...image, layers: [{ ...image.layers[0], mediaType: 'nonsense' }] }))).toBe('layers[0].mediaType');
    expect(invalidField(buf({ ...image, annotations: { a: 1 } }))).toBe('annotations');
    expect(invalidField(buf({ ...image, subject: { digest: d('1') } }))).toBe('subject.mediaType');
    expect(invalidField(buf({ ...image, manifests: [] }))).toBe('manifests');
    expect(invalidField(buf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [], layers: [] }))).toBe('layers');
    expect(invalidField(buf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{ mediaType: 'a/b', digest: d('1'), size: 1, platform: { os: 'linux' } }] }))).toBe('manifests[0].platform');
    expect(invalidField(buf({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }))).toBe('mediaType');
    expect(invalidField(buf({ schemaVersion: 1 }))).toBe('schemaVersion');
    expect(invalidField(buf(image), MEDIA_TYPES.ociManifest)).toBeUndefined();
  });
});

describe('pickPlatform', () => {
  const e = (arch: string, variant?: string, digest = d(arch.slice(0, 1))) => ({
    mediaType: MEDIA_TYPES.ociManifest,
    digest,
    size: 1,
    platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) },
  });
  it('prefers plain linux/amd64 and ignores other platforms', () => {
    expect(pickPlatform([e('arm64'), e('amd64', 'v3', d('3')), e('amd64', undefined, d('9'))])?.digest).toBe(d('9'));
    expect(pickPlatform([e('amd64', 'v3', d('3'))])?.digest).toBe(d('3'));
    expect(pickPlatform([e('arm64')])).toBeUndefined();
  });
});
