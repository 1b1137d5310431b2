/**
 * kumo's own use of the registry: resolving references for deploys (tags, digests, indexes, foreign
 * names), the ImageSource runtimes read, and `kumo images list|describe|delete`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KumoError } from '../../src/shared/errors.js';
import type { TestRegistry } from './harness.js';
import { startRegistry } from './harness.js';
import { call, pushBlob, pushImage, putManifest } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { blobOf, gzipLayer, imageOf } from './oci-layout.js';

let r: TestRegistry;
beforeAll(async () => {
  r = await startRegistry({ publicHost: 'localhost:8080' });
});
afterAll(async () => {
  await r.close();
});

async function image(arch = 'amd64', layers = 2): Promise<BuiltImage> {
  const ls = [];
  for (let i = 0; i < layers; i++) ls.push(await gzipLayer([{ name: `f${i}`, content: randomBytes(1000 + i) }]));
  return imageOf(
    ls,
    { Entrypoint: ['/bin/server'], Cmd: ['--port', '8080'], Env: ['PATH=/bin', 'MODE=prod'], WorkingDir: '/app', User: '1000', ExposedPorts: { '8080/tcp': {}, '9090/udp': {} } },
    { arch },
  );
}

async function rejection(p: Promise<unknown>): Promise<KumoError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KumoError) return err;
    throw err;
  }
  throw new Error('expected a KumoError');
}

describe('resolveImage', () => {
  it('resolves tags and digests, with or without a host, to the pinned manifest, layers and run config', async () => {
    const img = await image();
    const digest = await pushImage(r, 'hello', 'v1', img);
    for (const ref of ['localhost:8080/hello:v1', `${r.host}/hello:v1`, 'hello:v1', `hello@${digest}`, `localhost:8080/hello@${digest}`]) {
      const resolved = await r.registry.resolveImage(ref);
      expect(resolved.reference, ref).toBe(ref);
      expect(resolved.repository, ref).toBe('hello');
      expect(resolved.digest, ref).toBe(digest);
      expect(resolved.layers, ref).toEqual(img.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })));
      expect(resolved.config, ref).toEqual({
        entrypoint: ['/bin/server'],
        cmd: ['--port', '8080'],
        env: ['PATH=/bin', 'MODE=prod'],
        workingDir: '/app',
        user: '1000',
        exposedPorts: [8080, 9090],
      });
    }
  });

  it('defaults to :latest and maps foreign registry names to the same path in kumo', async () => {
    const img = await image();
    await pushImage(r, 'hello', 'latest', img);
    expect((await r.registry.resolveImage('hello')).digest).toBe(img.manifest.digest);
    const gcr = await image();
    await pushImage(r, 'my-project/api', 'v3', gcr);
    expect((await r.registry.resolveImage('gcr.io/my-project/api:v3')).repository).toBe('my-project/api');
    const ar = await image();
    await pushImage(r, 'proj/repo/img', 'v1', ar);
    const resolved = await r.registry.resolveImage('us-docker.pkg.dev/proj/repo/img:v1');
    expect(resolved.repository).toBe('proj/repo/img');
    expect(resolved.digest).toBe(ar.manifest.digest);
  });

  it('picks linux/amd64 from an index', async () => {
    const amd = await image('amd64');
    const arm = await image('arm64');
    await pushImage(r, 'multi', 'amd', amd);
    await pushImage(r, 'multi', 'arm', arm);
    const index = blobOf(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            { mediaType: arm.manifest.mediaType, digest: arm.manifest.digest, size: arm.manifest.size, platform: { os: 'linux', architecture: 'arm64' } },
            { mediaType: amd.manifest.mediaType, digest: amd.manifest.digest, size: amd.manifest.size, platform: { os: 'linux', architecture: 'amd64' } },
          ],
        }),
      ),
      'application/vnd.oci.image.index.v1+json',
    );
    expect((await putManifest(r, 'multi', 'v1', index)).status).toBe(201);
    expect((await r.registry.resolveImage('multi:v1')).digest).toBe(amd.manifest.digest);

    const armOnly = blobOf(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [{ mediaType: arm.manifest.mediaType, digest: arm.manifest.digest, size: arm.manifest.size, platform: { os: 'linux', architecture: 'arm64' } }],
        }),
      ),
      'application/vnd.oci.image.index.v1+json',
    );
    await putManifest(r, 'multi', 'arm-only', armOnly);
    const err = await rejection(r.registry.resolveImage('multi:arm-only'));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain('linux/arm64');
  });

  it('NOT_FOUND names the docker tag / docker push commands that fix it', async () => {
    const err = await rejection(r.registry.resolveImage('gcr.io/p/missing:v1'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('docker tag gcr.io/p/missing:v1 localhost:8080/p/missing:v1 && docker push localhost:8080/p/missing:v1');
    const local = await rejection(r.registry.resolveImage('localhost:8080/nothing'));
    expect(local.message).toContain('push it first: `docker push localhost:8080/nothing:latest`');
    const bare = await rejection(r.registry.resolveImage('hello:nope'));
    expect(bare.message).toContain('docker tag hello:nope localhost:8080/hello:nope && docker push localhost:8080/hello:nope');
    const bad = await rejection(r.registry.resolveImage('Bad/Name:v1'));
    expect(bad.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an artifact that is not a container image', async () => {
    const cfg = blobOf(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    await pushBlob(r, 'artifacts', cfg.bytes);
    const m = blobOf(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.sbom', config: { mediaType: cfg.mediaType, digest: cfg.digest, size: 2 }, layers: [] })),
      'application/vnd.oci.image.manifest.v1+json',
    );
    await putManifest(r, 'artifacts', 'sbom', m);
    const err = await rejection(r.registry.resolveImage('artifacts:sbom'));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain('application/vnd.example.sbom');
  });
});

describe('imageSource', () => {
  it('streams layer bytes and gives their path on disk; NOT_FOUND for unknown blobs', async () => {
    const img = await image();
    await pushImage(r, 'source', 'v1', img);
    const layer = img.layers[0];
    if (!layer) throw new Error('no layer');
    const chunks: Buffer[] = [];
    for await (const c of await r.registry.imageSource.openBlob(layer.digest)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(layer.bytes)).toBe(true);
    const path = r.registry.imageSource.blobPath?.(layer.digest);
    expect(path && readFileSync(path).equals(layer.bytes)).toBe(true);
    const missing = `sha256:${'0'.repeat(64)}`;
    expect(r.registry.imageSource.blobPath?.(missing)).toBeUndefined();
    expect((await rejection(r.registry.imageSource.openBlob(missing))).code).toBe('NOT_FOUND');
  });
});

describe('kumo images list | describe | delete', () => {
  it('lists repositories with tags and sizes, describes versions, deletes by tag and digest', async () => {
    const a = await image();
    const b = await image();
    await pushImage(r, 'cli/app', 'v1', a);
    await putManifest(r, 'cli/app', 'stable', a.manifest);
    await pushImage(r, 'cli/app', 'v2', b);
    const blobsOf = (i: BuiltImage): number => [i.manifest, i.config, ...i.layers].reduce((n, x) => n + x.size, 0);

    const row = r.registry.listImages().find((i) => i.repository === 'cli/app');
    expect(row).toMatchObject({ repository: 'cli/app', tags: ['stable', 'v1', 'v2'], manifestCount: 2, sizeBytes: blobsOf(a) + blobsOf(b) });

    const described = await r.registry.describeImage('cli/app');
    expect(described.versions.map((v) => v.digest)).toEqual([a.manifest.digest, b.manifest.digest]);
    const va = described.versions[0];
    expect(va).toMatchObject({ tags: ['stable', 'v1'], sizeBytes: blobsOf(a), kind: 'image', pinned: false });
    expect(va?.layers).toEqual(a.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })));
    expect((await r.registry.describeImage('localhost:8080/cli/app:v2')).versions.map((v) => v.digest)).toEqual([b.manifest.digest]);

    // Untag while another tag remains: the image stays.
    expect(r.registry.deleteImage('cli/app:v1')).toEqual({ untagged: ['v1'], deleted: [] });
    expect((await call(r, 'GET', `/v2/cli/app/manifests/${a.manifest.digest}`)).status).toBe(200);
    // Last tag: the image goes.
    expect(r.registry.deleteImage('cli/app:stable')).toEqual({ untagged: ['stable'], deleted: [{ repository: 'cli/app', digest: a.manifest.digest }] });
    expect((await call(r, 'GET', `/v2/cli/app/manifests/${a.manifest.digest}`)).status).toBe(404);

    r.pinned.push({ repository: 'cli/app', digest: b.manifest.digest });
    expect((await r.registry.describeImage('cli/app:v2')).versions[0]?.pinned).toBe(true);
    let refused: unknown;
    try {
      r.registry.deleteImage(`cli/app@${b.manifest.digest}`);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(KumoError);
    expect((refused as KumoError).code).toBe('FAILED_PRECONDITION');
    // Untagging a pinned image keeps the manifest.
    expect(r.registry.deleteImage('cli/app:v2')).toEqual({ untagged: ['v2'], deleted: [] });
    expect((await r.registry.resolveImage(`cli/app@${b.manifest.digest}`)).digest).toBe(b.manifest.digest);
  });
});
