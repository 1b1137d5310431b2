/**
 * Real clients against a real `kumo server` (its front door serves /v2/): skopeo copy both ways
 * (OCI and Docker schema2, a multi-platform index, registry to registry), skopeo inspect /
 * list-tags / delete, and buildah commit + push, with a token from `kumo auth print-access-token`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/kumo.js';
import { run, tempDir } from './harness.js';
import { call } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { busyboxImage, gzipLayer, imageOf, sha256, writeOciLayout } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { deployImage, startRegistryServer } from './server.js';

let r: RegistryServer;
let creds: string;
const dirs: string[] = [];
const dir = (p: string): string => {
  const d = tempDir(p);
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  r = await startRegistryServer();
  creds = r.creds;
});
afterAll(async () => {
  await r.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const skopeo = (...args: string[]) => run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });

interface ConfigJson {
  config: { Cmd?: string[]; Env?: string[]; ExposedPorts?: Record<string, object> };
}
/** The image config as skopeo reads it back from kumo. */
async function configOf(ref: string): Promise<ConfigJson['config']> {
  return (JSON.parse((await skopeo('inspect', '--config', '--tls-verify=false', '--creds', creds, ref)).stdout) as ConfigJson).config;
}

interface OciIndex {
  manifests: { digest: string; mediaType: string }[];
}
function layoutManifestDigest(layout: string): string {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as OciIndex;
  return index.manifests[0]?.digest ?? '';
}

describe('skopeo', () => {
  let image: BuiltImage;
  beforeAll(async () => {
    image = await busyboxImage();
  });

  it('copies an OCI image in and out unchanged', async () => {
    const src = dir('src');
    writeOciLayout(src, image, 'v1');
    await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${src}:v1`, `docker://${r.host}/skopeo/busybox:v1`);
    const head = await call(r, 'HEAD', '/v2/skopeo/busybox/manifests/v1');
    expect(head.headers.get('docker-content-digest')).toBe(image.manifest.digest);

    const out = dir('out');
    await skopeo('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${r.host}/skopeo/busybox:v1`, `oci:${out}:v1`);
    expect(layoutManifestDigest(out)).toBe(image.manifest.digest);
    for (const b of [image.config, ...image.layers]) {
      expect(readFileSync(join(out, 'blobs', 'sha256', b.digest.slice(7))).equals(b.bytes), b.digest).toBe(true);
    }
    const inspect = JSON.parse((await skopeo('inspect', '--tls-verify=false', '--creds', creds, `docker://${r.host}/skopeo/busybox:v1`)).stdout) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(image.manifest.digest);
    expect(inspect.Layers).toEqual(image.layers.map((l) => l.digest));
  });

  it('pushes Docker schema2 when asked, registry to registry', async () => {
    await skopeo('copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, '--format', 'v2s2', `docker://${r.host}/skopeo/busybox:v1`, `docker://${r.host}/skopeo/docker-format:v1`);
    const get = await call(r, 'GET', '/v2/skopeo/docker-format/manifests/v1');
    expect(get.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(get.json<{ layers: { mediaType: string }[] }>().layers[0]?.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect((await configOf(`docker://${r.host}/skopeo/docker-format:v1`)).Cmd).toEqual(['echo hello from kumo']);
  });

  it('pushes a multi-platform index with --all and pulls it back whole', async () => {
    const amd = imageOf([await gzipLayer([{ name: 'amd', content: randomBytes(100) }])], {}, { arch: 'amd64' });
    const arm = imageOf([await gzipLayer([{ name: 'arm', content: randomBytes(100) }])], {}, { arch: 'arm64' });
    const src = dir('multi');
    writeOciLayout(src, amd, 'x');
    writeOciLayout(src, arm, 'x'); // adds blobs; index.json is rewritten below
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: amd.manifest.mediaType, digest: amd.manifest.digest, size: amd.manifest.size, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: arm.manifest.mediaType, digest: arm.manifest.digest, size: arm.manifest.size, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    const indexDigest = sha256(indexBytes);
    writeFileSync(join(src, 'blobs', 'sha256', indexDigest.slice(7)), indexBytes);
    writeFileSync(
      join(src, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: indexBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }),
    );
    await skopeo('copy', '--all', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${src}:multi`, `docker://${r.host}/skopeo/multi:v1`);
    expect((await call(r, 'HEAD', '/v2/skopeo/multi/manifests/v1')).headers.get('docker-content-digest')).toBe(indexDigest);
    // Deploying the index pins the linux/amd64 image on the revision (the process runtime then
    // refuses to start a container image, which is beside the point here).
    const deployed = deployImage(r, uniqueName('multi'), `${r.localhost}/skopeo/multi:v1`);
    expect(deployed.imageDigest).toBe(`skopeo/multi@${amd.manifest.digest}`);
    const out = dir('multi-out');
    await skopeo('copy', '--all', '--src-tls-verify=false', '--src-creds', creds, `docker://${r.host}/skopeo/multi:v1`, `oci:${out}:v1`);
    expect(layoutManifestDigest(out)).toBe(indexDigest);
  });

  it('lists tags and deletes by digest', async () => {
    const tags = JSON.parse((await skopeo('list-tags', '--tls-verify=false', '--creds', creds, `docker://${r.host}/skopeo/busybox`)).stdout) as { Tags: string[] };
    expect(tags.Tags).toEqual(['v1']);
    await skopeo('delete', '--tls-verify=false', '--creds', creds, `docker://${r.host}/skopeo/docker-format:v1`);
    expect((await call(r, 'GET', '/v2/skopeo/docker-format/manifests/v1')).status).toBe(404);
  });

  it('fails without credentials, saying so', async () => {
    const src = dir('nocreds');
    writeOciLayout(src, image, 'v1');
    const err = await skopeo('copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${r.host}/skopeo/anon:v1`).then(
      () => undefined,
      (e: unknown) => e as { stderr: string },
    );
    expect(err?.stderr).toMatch(/authentication required|unauthorized/i);
  });
});

describe('buildah', () => {
  it('commits an image from scratch and pushes it', async () => {
    const store = dir('buildah');
    const b = (...args: string[]) => run('buildah', ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs', ...args]);
    try {
      const ctr = (await b('from', 'scratch')).stdout.trim();
      const file = join(store, 'hello.txt');
      writeFileSync(file, 'hello from buildah\n');
      await b('copy', ctr, file, '/hello.txt');
      await b('config', '--cmd', '/hello', '--env', 'GREETING=hi', '--port', '8080', ctr);
      await b('commit', ctr, 'kumo-test/buildah:v1');
      await b('push', '--tls-verify=false', '--creds', creds, 'kumo-test/buildah:v1', `docker://${r.host}/buildah/app:v1`);
      const config = await configOf(`docker://${r.host}/buildah/app:v1`);
      expect(config.Cmd).toEqual(['/hello']);
      expect(config.Env).toContain('GREETING=hi');
      // buildah writes the port without its `/tcp`; the bytes come back exactly as pushed.
      expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['8080']);
      const inspect = JSON.parse((await skopeo('inspect', '--tls-verify=false', '--creds', creds, `docker://${r.host}/buildah/app:v1`)).stdout) as { Layers: string[] };
      expect(inspect.Layers).toHaveLength(1);
      const layer = await call(r, 'GET', `/v2/buildah/app/blobs/${inspect.Layers[0] ?? ''}`);
      expect(sha256(layer.body)).toBe(inspect.Layers[0]);
    } finally {
      await b('rm', '--all').catch(() => undefined);
      await b('rmi', '--all', '--force').catch(() => undefined);
    }
  });
});
