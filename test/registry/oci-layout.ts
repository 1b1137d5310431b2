/**
 * Images for the registry tests and benchmark, made offline: an OCI image layout whose layers are
 * real gzip tars of generated files (random bytes, or a busybox-static root). skopeo, buildah and
 * docker accept these like any image.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface LayerFile {
  name: string;
  content: Buffer;
  mode?: number;
  /** Make a symlink to this target instead of a file. */
  linkname?: string;
  type?: 'file' | 'directory' | 'symlink';
}

export interface BuiltBlob {
  digest: string;
  size: number;
  bytes: Buffer;
  mediaType: string;
}

export interface BuiltImage {
  manifest: BuiltBlob;
  config: BuiltBlob;
  layers: (BuiltBlob & { diffId: string })[];
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A tar of the given entries. */
export async function tarOf(files: LayerFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const f of files) {
    const type = f.type ?? (f.linkname ? 'symlink' : 'file');
    const header = { name: f.name, mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), type, ...(f.linkname ? { linkname: f.linkname } : {}) };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, f.content, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A gzip layer of the given files; level 0 keeps generation fast for large random payloads. */
export async function gzipLayer(files: LayerFile[], level = 0): Promise<BuiltBlob & { diffId: string }> {
  const tarBytes = await tarOf(files);
  const bytes = gzipSync(tarBytes, { level });
  return { digest: sha256(bytes), size: bytes.length, bytes, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: sha256(tarBytes) };
}

export function blobOf(bytes: Buffer, mediaType: string): BuiltBlob {
  return { digest: sha256(bytes), size: bytes.length, bytes, mediaType };
}

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  User?: string;
}

/** Manifest + config for the given layers (OCI media types unless `docker`). */
export function imageOf(layers: (BuiltBlob & { diffId: string })[], config: ImageConfig = {}, o: { docker?: boolean; arch?: string } = {}): BuiltImage {
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: o.arch ?? 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'kumo test fixture' })),
    }),
  );
  const configBlob = blobOf(cfg, o.docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const layerType = o.docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip';
  const manifestType = o.docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size },
        layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
      },
      null,
      3, // unusual indentation: stored bytes must come back exactly
    ),
  );
  return { manifest: blobOf(manifest, manifestType), config: configBlob, layers: layers.map((l) => ({ ...l, mediaType: layerType })) };
}

/** `count` layers, each one file of `bytesEach` random bytes. */
export async function randomImage(count: number, bytesEach: number, config: ImageConfig = {}): Promise<BuiltImage> {
  const layers = [];
  for (let i = 0; i < count; i++) layers.push(await gzipLayer([{ name: `data/layer-${i}.bin`, content: randomBytes(bytesEach) }]));
  return imageOf(layers, config);
}

/** A runnable busybox-static image: /bin/busybox plus symlinks for sh, echo, cat… */
export async function busyboxImage(): Promise<BuiltImage> {
  const busybox = readFileSync('/bin/busybox');
  const files: LayerFile[] = [
    { name: 'bin', content: Buffer.alloc(0), type: 'directory' },
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    ...['sh', 'echo', 'cat', 'ls', 'true'].map((n) => ({ name: `bin/${n}`, content: Buffer.alloc(0), linkname: 'busybox' })),
  ];
  const layer = await gzipLayer(files, 6);
  return imageOf([layer], { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hello from kumo'], Env: ['PATH=/bin'], WorkingDir: '/', ExposedPorts: { '8080/tcp': {} } });
}

/** Write an image as an OCI image layout `dir` with `tag`, for `skopeo copy oci:dir:tag …`. */
export function writeOciLayout(dir: string, image: BuiltImage, tag: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of [image.manifest, image.config, ...image.layers]) {
    writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
  }
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.manifest.mediaType,
          digest: image.manifest.digest,
          size: image.manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}
