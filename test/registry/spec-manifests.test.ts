/**
 * Distribution spec v1.1, manifest side: push and pull by tag and digest (exact bytes), Docker
 * schema2 and OCI types, indexes and manifest lists, nested names, the refusals (missing blobs,
 * invalid manifests, names and tags, oversize), tags/list and _catalog pagination, deletion,
 * referrers with OCI-Subject and artifactType filtering. Raw HTTP against a real `kumo server`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/kumo.js';
import { call, pushBlob, pushImage, putManifest } from './http-client.js';
import type { BuiltBlob, BuiltImage } from './oci-layout.js';
import { blobOf, gzipLayer, imageOf, sha256 } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { deployImage, startRegistryServer } from './server.js';

let r: RegistryServer;
beforeAll(async () => {
  r = await startRegistryServer();
});
afterAll(async () => {
  await r.close();
});

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

async function smallImage(o: { docker?: boolean; arch?: string } = {}): Promise<BuiltImage> {
  return imageOf([await gzipLayer([{ name: 'hello.txt', content: randomBytes(64) }])], { Cmd: ['/hello'] }, o);
}

function indexOf(images: { image: BuiltImage; arch: string }[], mediaType = OCI_INDEX): BuiltBlob {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map(({ image, arch }) => ({
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        platform: { os: 'linux', architecture: arch },
      })),
    }),
  );
  return blobOf(bytes, mediaType);
}

describe('manifests: push and pull', () => {
  it('stores the exact bytes of an OCI manifest and serves them by tag and digest (GET and HEAD)', async () => {
    const image = await smallImage();
    const digest = image.manifest.digest;
    for (const b of [image.config, ...image.layers]) await pushBlob(r, 'pull/oci', b.bytes);
    const put = await putManifest(r, 'pull/oci', 'v1', image.manifest);
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/pull/oci/manifests/${digest}`);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    for (const ref of ['v1', digest]) {
      const get = await call(r, 'GET', `/v2/pull/oci/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(get.body.equals(image.manifest.bytes)).toBe(true);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(get.headers.get('docker-content-digest')).toBe(digest);
      const head = await call(r, 'HEAD', `/v2/pull/oci/manifests/${ref}`);
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(image.manifest.size));
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      expect(head.body.length).toBe(0);
    }
  });

  it('accepts a PUT by digest, and refuses one whose body has another digest (DIGEST_INVALID)', async () => {
    const image = await smallImage();
    for (const b of [image.config, ...image.layers]) await pushBlob(r, 'by/digest', b.bytes);
    const wrong = await putManifest(r, 'by/digest', sha256(Buffer.from('other')), image.manifest);
    expect(wrong.status).toBe(400);
    expect(wrong.code).toBe('DIGEST_INVALID');
    const ok = await putManifest(r, 'by/digest', image.manifest.digest, image.manifest);
    expect(ok.status).toBe(201);
    expect((await call(r, 'GET', `/v2/by/digest/manifests/${image.manifest.digest}`)).body.equals(image.manifest.bytes)).toBe(true);
  });

  it('PUT by digest with ?tag= sets several tags and reports them in OCI-Tag', async () => {
    const image = await smallImage();
    for (const b of [image.config, ...image.layers]) await pushBlob(r, 'multi/tag', b.bytes);
    const put = await call(r, 'PUT', `/v2/multi/tag/manifests/${image.manifest.digest}?tag=1.2.3&tag=latest`, {
      body: image.manifest.bytes,
      headers: { 'content-type': image.manifest.mediaType },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-tag')).toBe('1.2.3, latest');
    expect((await call(r, 'GET', '/v2/multi/tag/tags/list')).json()).toEqual({ name: 'multi/tag', tags: ['1.2.3', 'latest'] });
  });

  it('handles Docker schema2 manifests and manifest lists, OCI indexes, and nested names', async () => {
    const amd = await smallImage({ docker: true, arch: 'amd64' });
    const arm = await smallImage({ docker: true, arch: 'arm64' });
    const repo = 'team/blobs/deep/api';
    await pushImage(r, repo, 'amd64', amd);
    await pushImage(r, repo, 'arm64', arm);
    const list = indexOf([{ image: amd, arch: 'amd64' }, { image: arm, arch: 'arm64' }], DOCKER_LIST);
    expect((await putManifest(r, repo, 'multi', list)).status).toBe(201);
    const get = await call(r, 'GET', `/v2/${repo}/manifests/multi`);
    expect(get.headers.get('content-type')).toBe(DOCKER_LIST);
    expect(get.body.equals(list.bytes)).toBe(true);
    const single = await call(r, 'GET', `/v2/${repo}/manifests/amd64`);
    expect(single.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');

    const oci = indexOf([{ image: amd, arch: 'amd64' }]);
    expect((await putManifest(r, repo, 'oci-index', oci)).status).toBe(201);
    expect((await call(r, 'GET', `/v2/${repo}/manifests/oci-index`)).headers.get('content-type')).toBe(OCI_INDEX);
  });
});

describe('manifests: refusals', () => {
  it('refuses a manifest that references a missing blob or child manifest: MANIFEST_BLOB_UNKNOWN', async () => {
    const image = await smallImage();
    await pushBlob(r, 'refuse/missing', image.config.bytes); // the layer is never pushed
    const res = await putManifest(r, 'refuse/missing', 'v1', image.manifest);
    expect(res.status).toBe(400);
    expect(res.code).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(res.text).toContain(image.layers[0]?.digest ?? 'layer');
    expect((await call(r, 'GET', '/v2/refuse/missing/manifests/v1')).status).toBe(404);

    const index = indexOf([{ image, arch: 'amd64' }]);
    const res2 = await putManifest(r, 'refuse/missing', 'idx', index);
    expect(res2.code).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses invalid manifests with MANIFEST_INVALID naming the problem', async () => {
    const image = await smallImage();
    for (const b of [image.config, ...image.layers]) await pushBlob(r, 'refuse/invalid', b.bytes);
    const doc = JSON.parse(image.manifest.bytes.toString()) as Record<string, unknown>;
    const cases: [string, string | Buffer, string][] = [
      ['not json', '{"schemaVersion": 2,', OCI_MANIFEST],
      ['an array', '[]', OCI_MANIFEST],
      ['schema1', JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
      ['content-type mismatch', image.manifest.bytes, OCI_INDEX],
      ['layers and manifests', JSON.stringify({ ...doc, manifests: [] }), OCI_MANIFEST],
      ['bad layer digest', JSON.stringify({ ...doc, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:zz', size: 1 }] }), OCI_MANIFEST],
      ['negative size', JSON.stringify({ ...doc, config: { ...(doc.config as object), size: -1 } }), OCI_MANIFEST],
      ['unknown media type', JSON.stringify({ ...doc, mediaType: 'text/plain' }), 'text/plain'],
    ];
    for (const [what, body, contentType] of cases) {
      const res = await call(r, 'PUT', '/v2/refuse/invalid/manifests/v1', { body, headers: { 'content-type': contentType } });
      expect(res.status, what).toBe(400);
      expect(res.code, what).toBe('MANIFEST_INVALID');
      expect(res.text, what).not.toMatch(/at .*\.js:\d+/);
    }
    expect((await call(r, 'GET', '/v2/refuse/invalid/manifests/v1')).status).toBe(404);
  });

  it('answers 413 for a manifest over 4 MiB and accepts one just under', async () => {
    const config = await pushBlob(r, 'refuse/big', Buffer.from('{}'));
    const base = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 }, layers: [] };
    const pad = (n: number): Buffer => {
      const head = JSON.stringify({ ...base, annotations: { pad: '' } });
      return Buffer.from(JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(n - head.length) } }));
    };
    const big = pad(4 * 1024 * 1024 + 1);
    const res = await call(r, 'PUT', '/v2/refuse/big/manifests/v1', { body: big, headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(413);
    expect(res.code).toBe('MANIFEST_INVALID');
    const fits = pad(4 * 1024 * 1024 - 10);
    expect((await call(r, 'PUT', '/v2/refuse/big/manifests/v1', { body: fits, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
  });

  it('NAME_INVALID for names that break the grammar, MANIFEST_INVALID for bad tags, never a 500', async () => {
    for (const name of ['Upper/case', 'trailing-/x', 'a..b', '-lead', `${'a'.repeat(256)}`, 'a/', 'sp%20ace']) {
      const res = await call(r, 'GET', `/v2/${name}/manifests/v1`);
      expect(res.status, name).toBe(400);
      expect(res.code, name).toBe('NAME_INVALID');
    }
    for (const tag of ['.dot', '-dash', 'x'.repeat(129), 'with%20space']) {
      const res = await call(r, 'PUT', `/v2/ok/name/manifests/${tag}`, { body: '{}', headers: { 'content-type': OCI_MANIFEST } });
      expect(res.status, tag).toBe(400);
      expect(res.code, tag).toBe('MANIFEST_INVALID');
    }
  });

  it('MANIFEST_UNKNOWN for a missing manifest, UNSUPPORTED for unknown endpoints and methods', async () => {
    const res = await call(r, 'GET', '/v2/nobody/manifests/v1');
    expect(res.status).toBe(404);
    expect(res.code).toBe('MANIFEST_UNKNOWN');
    expect((await call(r, 'GET', `/v2/nobody/manifests/${sha256(Buffer.from('x'))}`)).code).toBe('MANIFEST_UNKNOWN');
    const endpoint = await call(r, 'GET', '/v2/nobody/whatever');
    expect(endpoint.status).toBe(404);
    expect(endpoint.code).toBe('UNSUPPORTED');
    const method = await call(r, 'POST', '/v2/nobody/manifests/v1');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
  });
});

describe('discovery', () => {
  it('lists tags in byte order with n/last pagination and a Link header', async () => {
    const image = await smallImage();
    const tags = ['b', 'A', 'a', '1.0', 'latest', 'Z_9', '0'];
    await pushImage(r, 'disco/tags', tags[0] ?? 'b', image);
    for (const t of tags.slice(1)) expect((await putManifest(r, 'disco/tags', t, image.manifest)).status).toBe(201);
    const sorted = [...tags].sort();
    const all = await call(r, 'GET', '/v2/disco/tags/tags/list');
    expect(all.json()).toEqual({ name: 'disco/tags', tags: sorted });
    expect(all.headers.get('link')).toBeNull();

    const page1 = await call(r, 'GET', '/v2/disco/tags/tags/list?n=3');
    expect(page1.json<{ tags: string[] }>().tags).toEqual(sorted.slice(0, 3));
    const link = page1.headers.get('link') ?? '';
    expect(link).toMatch(/^<\/v2\/disco\/tags\/tags\/list\?n=3&last=[^>]+>; rel="next"$/);
    const page2 = await call(r, 'GET', link.slice(1, link.indexOf('>')));
    expect(page2.json<{ tags: string[] }>().tags).toEqual(sorted.slice(3, 6));
    const rest = await call(r, 'GET', `/v2/disco/tags/tags/list?last=${sorted[5] ?? ''}`);
    expect(rest.json<{ tags: string[] }>().tags).toEqual(sorted.slice(6));

    const zero = await call(r, 'GET', '/v2/disco/tags/tags/list?n=0');
    expect(zero.json<{ tags: string[] }>().tags).toEqual([]);
    expect(zero.headers.get('link')).toBeNull();
    const bad = await call(r, 'GET', '/v2/disco/tags/tags/list?n=-1');
    expect(bad.status).toBe(400);
  });

  it('NAME_UNKNOWN for the tags of a repository that does not exist', async () => {
    const res = await call(r, 'GET', '/v2/disco/none/tags/list');
    expect(res.status).toBe(404);
    expect(res.code).toBe('NAME_UNKNOWN');
  });

  it('lists repositories in _catalog with pagination', async () => {
    const image = await smallImage();
    for (const repo of ['cat/c', 'cat/a', 'cat/b']) await pushImage(r, repo, 'v1', image);
    const all = (await call(r, 'GET', '/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    expect(all.filter((x) => x.startsWith('cat/'))).toEqual(['cat/a', 'cat/b', 'cat/c']);
    expect(all).toEqual([...all].sort());
    const page = await call(r, 'GET', '/v2/_catalog?n=1&last=cat/a');
    expect(page.json()).toEqual({ repositories: ['cat/b'] });
    expect(page.headers.get('link')).toBe('</v2/_catalog?n=1&last=cat%2Fb>; rel="next"');
  });
});

describe('content management: manifests', () => {
  it('DELETE by tag removes only the tag; DELETE by digest removes the manifest and its tags', async () => {
    const image = await smallImage();
    const digest = await pushImage(r, 'manage/del', 'v1', image);
    await putManifest(r, 'manage/del', 'v2', image.manifest);
    const byTag = await call(r, 'DELETE', '/v2/manage/del/manifests/v1');
    expect(byTag.status).toBe(202);
    expect((await call(r, 'GET', '/v2/manage/del/manifests/v1')).code).toBe('MANIFEST_UNKNOWN');
    expect((await call(r, 'GET', '/v2/manage/del/manifests/v2')).status).toBe(200);
    expect((await call(r, 'DELETE', '/v2/manage/del/manifests/v1')).status).toBe(404);

    const byDigest = await call(r, 'DELETE', `/v2/manage/del/manifests/${digest}`);
    expect(byDigest.status).toBe(202);
    expect((await call(r, 'GET', `/v2/manage/del/manifests/${digest}`)).status).toBe(404);
    expect((await call(r, 'GET', '/v2/manage/del/manifests/v2')).status).toBe(404);
    expect((await call(r, 'GET', '/v2/manage/del/tags/list')).json<{ tags: string[] }>().tags).toEqual([]);
    expect((await call(r, 'DELETE', `/v2/manage/del/manifests/${digest}`)).code).toBe('MANIFEST_UNKNOWN');
  });

  it('refuses to delete a digest a revision is pinned to (DENIED)', async () => {
    const image = await smallImage();
    const digest = await pushImage(r, 'manage/pinned', 'v1', image);
    // Deploying the tag pins the digest on a revision (whose instance the process runtime then
    // refuses to start: beside the point here).
    expect(deployImage(r, uniqueName('pinned'), `${r.localhost}/manage/pinned:v1`).imageDigest).toBe(`manage/pinned@${digest}`);
    const res = await call(r, 'DELETE', `/v2/manage/pinned/manifests/${digest}`);
    expect(res.status).toBe(403);
    expect(res.code).toBe('DENIED');
    expect((await call(r, 'GET', `/v2/manage/pinned/manifests/${digest}`)).status).toBe(200);
  });
});

describe('referrers', () => {
  async function artifact(subject: BuiltBlob, artifactType: string, annotations: Record<string, string>): Promise<BuiltBlob> {
    const empty = await pushBlob(r, 'refs/app', Buffer.from('{}'));
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        annotations,
      }),
    );
    return blobOf(bytes, OCI_MANIFEST);
  }

  it('accepts a referrer before its subject exists, answers OCI-Subject, lists and filters referrers', async () => {
    const image = await smallImage();
    const sbom = await artifact(image.manifest, 'application/vnd.example.sbom.v1', { 'org.example.kind': 'sbom' });
    const sig = await artifact(image.manifest, 'application/vnd.example.signature.v1', { 'org.example.kind': 'sig' });
    const early = await putManifest(r, 'refs/app', sbom.digest, sbom);
    expect(early.status).toBe(201);
    expect(early.headers.get('oci-subject')).toBe(image.manifest.digest);
    await pushImage(r, 'refs/app', 'v1', image);
    expect((await putManifest(r, 'refs/app', sig.digest, sig)).status).toBe(201);

    const all = await call(r, 'GET', `/v2/refs/app/referrers/${image.manifest.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe(OCI_INDEX);
    const index = all.json<{ schemaVersion: number; mediaType: string; manifests: { digest: string; artifactType: string; annotations: Record<string, string>; size: number }[] }>();
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((m) => m.digest).sort()).toEqual([sbom.digest, sig.digest].sort());
    const sbomEntry = index.manifests.find((m) => m.digest === sbom.digest);
    expect(sbomEntry).toMatchObject({ artifactType: 'application/vnd.example.sbom.v1', annotations: { 'org.example.kind': 'sbom' }, size: sbom.size });

    const filtered = await call(r, 'GET', `/v2/refs/app/referrers/${image.manifest.digest}?artifactType=application/vnd.example.signature.v1`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest)).toEqual([sig.digest]);
    expect(all.headers.get('oci-filters-applied')).toBeNull();
  });

  it('reports an image referrer\'s config media type as its artifactType', async () => {
    const subject = await smallImage();
    await pushImage(r, 'refs/img', 'v1', subject);
    const other = await smallImage();
    const doc = { ...(JSON.parse(other.manifest.bytes.toString()) as object), subject: { mediaType: OCI_MANIFEST, digest: subject.manifest.digest, size: subject.manifest.size } };
    const ref = blobOf(Buffer.from(JSON.stringify(doc)), OCI_MANIFEST);
    for (const b of [other.config, ...other.layers]) await pushBlob(r, 'refs/img', b.bytes);
    expect((await putManifest(r, 'refs/img', ref.digest, ref)).status).toBe(201);
    const list = (await call(r, 'GET', `/v2/refs/img/referrers/${subject.manifest.digest}`)).json<{ manifests: { artifactType: string }[] }>();
    expect(list.manifests).toHaveLength(1);
    expect(list.manifests[0]?.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('answers an empty index (never 404) when nothing refers to a digest, 400 for a bad digest', async () => {
    const none = await call(r, 'GET', `/v2/refs/app/referrers/${sha256(Buffer.from('lonely'))}`);
    expect(none.status).toBe(200);
    expect(none.json<{ manifests: unknown[] }>().manifests).toEqual([]);
    const bad = await call(r, 'GET', '/v2/refs/app/referrers/sha256:nothex');
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('DIGEST_INVALID');
  });
});
