/**
 * Reading OCI and Docker schema2 manifests, indexes and image configs into the runtime's
 * `ResolvedImage`. Pure: callers fetch the bytes (kumo's registry, an OCI layout directory).
 */
import { KumoError } from '../../shared/errors.js';
import type { ResolvedImage } from '../runtime.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function bad(reference: string, what: string): KumoError {
  return new KumoError('FAILED_PRECONDITION', `image ${reference}: ${what}`, { field: 'image' });
}

function parse(reference: string, bytes: Buffer | string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw bad(reference, `its ${what} is not a JSON object`);
}

/** True when the manifest bytes are an index (multi-platform), not an image manifest. */
export function isIndex(manifest: Buffer | string, mediaType?: string): boolean {
  if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList) return true;
  const m = parse('?', manifest, 'manifest');
  return Array.isArray(m.manifests) && !Array.isArray(m.layers);
}

/** The linux/amd64 entry of an index, as Cloud Run runs it. */
export function pickPlatform(reference: string, index: Buffer | string, os = 'linux', architecture = 'amd64'): Descriptor {
  const m = parse(reference, index, 'index');
  const list = Array.isArray(m.manifests) ? (m.manifests as Descriptor[]) : [];
  const hit = list.find((d) => d.platform?.os === os && d.platform.architecture === architecture);
  if (!hit) {
    const have = list.map((d) => `${d.platform?.os ?? '?'}/${d.platform?.architecture ?? '?'}`).join(', ') || 'none';
    throw bad(reference, `it has no ${os}/${architecture} image (platforms: ${have}); build it with --platform ${os}/${architecture}`);
  }
  return hit;
}

export interface ManifestParts {
  config: Descriptor;
  layers: Descriptor[];
}

export function readManifest(reference: string, manifest: Buffer | string): ManifestParts {
  const m = parse(reference, manifest, 'manifest');
  const config = m.config as Descriptor | undefined;
  const layers = m.layers as Descriptor[] | undefined;
  if (!config || typeof config.digest !== 'string' || !Array.isArray(layers)) throw bad(reference, 'its manifest has no config or layers');
  for (const l of layers) {
    if (typeof l.digest !== 'string' || typeof l.size !== 'number') throw bad(reference, 'a layer descriptor lacks digest or size');
    if (l.mediaType && !LAYER_TYPES.has(l.mediaType)) {
      throw bad(reference, `layer ${l.digest} has media type ${l.mediaType}, which is not a container filesystem layer`);
    }
  }
  return { config, layers };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Build the ResolvedImage from a manifest and its config blob. */
export function toResolvedImage(
  reference: string,
  repository: string,
  manifestDigest: string,
  manifest: Buffer | string,
  configBlob: Buffer | string,
): ResolvedImage {
  const parts = readManifest(reference, manifest);
  const cfg = parse(reference, configBlob, 'config');
  if (cfg.os !== undefined && cfg.os !== 'linux') throw bad(reference, `it is built for ${JSON.stringify(cfg.os)}, not linux`);
  const c = (cfg.config ?? {}) as Record<string, unknown>;
  const ports = Object.keys((c.ExposedPorts ?? {}) as Record<string, unknown>)
    .map((p) => Number(p.split('/')[0]))
    .filter((n) => Number.isInteger(n) && n > 0 && n < 65536);
  return {
    reference,
    repository,
    digest: manifestDigest,
    layers: parts.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType ?? MEDIA_TYPES.ociLayerGzip, size: l.size })),
    config: {
      entrypoint: strings(c.Entrypoint),
      cmd: strings(c.Cmd),
      env: strings(c.Env),
      workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
      user: typeof c.User === 'string' ? c.User : '',
      exposedPorts: ports,
    },
  };
}
