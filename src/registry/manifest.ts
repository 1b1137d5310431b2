/**
 * Reading and checking pushed manifests: OCI image manifests and indexes, Docker schema2 manifests
 * and manifest lists (image-spec v1.1 manifest.md / image-index.md). Pure: bytes in, facts out.
 */
import { RegistryError } from './errors.js';
import { parseDigest } from './reference.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
export const MANIFEST_MEDIA_TYPES: readonly string[] = [...IMAGE_TYPES, ...INDEX_TYPES];

/** Pushed manifests larger than this get 413 (the spec asks registries to accept at least 4 MB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  config?: Descriptor;
  layers: Descriptor[];
  manifests: Descriptor[];
  subject?: Descriptor;
  /** The manifest's `artifactType`, else (for images) its config media type: what referrers report. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Blobs that must exist in the repository: config and layers not hosted elsewhere (`urls`). */
  blobDigests: string[];
  /** Child manifests that must exist in the repository (indexes). */
  manifestDigests: string[];
}

const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function invalid(message: string, field?: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, field ? { field, detail: { field } } : {});
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readAnnotations(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${field} must be an object whose values are strings`, field);
  }
  return v as Record<string, string>;
}

function readDescriptor(v: unknown, field: string): Descriptor {
  if (!isObject(v)) throw invalid(`${field} must be a descriptor object with mediaType, digest and size`, field);
  const { mediaType, digest, size, urls, artifactType, platform } = v;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE_RE.test(mediaType)) {
    throw invalid(`${field}.mediaType must be a media type such as ${MEDIA_TYPES.ociConfig}`, `${field}.mediaType`);
  }
  if (typeof digest !== 'string' || !parseDigest(digest)) {
    throw invalid(`${field}.digest "${String(digest)}" is not a valid digest (sha256:<64 lowercase hex>)`, `${field}.digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${field}.size must be a non-negative integer number of bytes`, `${field}.size`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (urls !== undefined) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) throw invalid(`${field}.urls must be a list of strings`, `${field}.urls`);
    d.urls = urls as string[];
  }
  if (artifactType !== undefined) {
    if (typeof artifactType !== 'string') throw invalid(`${field}.artifactType must be a string`, `${field}.artifactType`);
    d.artifactType = artifactType;
  }
  const annotations = readAnnotations(v.annotations, `${field}.annotations`);
  if (annotations) d.annotations = annotations;
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string') {
      throw invalid(`${field}.platform must name os and architecture`, `${field}.platform`);
    }
    d.platform = {
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof platform.variant === 'string' ? { variant: platform.variant } : {}),
    };
  }
  return d;
}

function readDescriptors(v: unknown, field: string): Descriptor[] {
  if (!Array.isArray(v)) throw invalid(`${field} must be a list of descriptors`, field);
  return v.map((d, i) => readDescriptor(d, `${field}[${i}]`));
}

/** Strip parameters: `application/json; charset=utf-8` → `application/json`. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

/**
 * Parse and check a pushed manifest. `contentType` is the request's Content-Type; when the body
 * names a mediaType the two must agree. Throws MANIFEST_INVALID naming the offending field.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`the manifest is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw invalid('the manifest must be a JSON object');
  if (doc.schemaVersion === 1) {
    throw invalid('Docker schema1 manifests are not supported; push with a current docker, skopeo or buildah (they send schema2 or OCI)', 'schemaVersion');
  }
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2', 'schemaVersion');
  const header = baseMediaType(contentType);
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string', 'mediaType');
  if (declared !== undefined && header !== undefined && header !== declared && MANIFEST_MEDIA_TYPES.includes(header)) {
    throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${declared}"`, 'mediaType');
  }
  const mediaType = declared ?? (header && MANIFEST_MEDIA_TYPES.includes(header) ? header : undefined) ?? inferMediaType(doc);
  if (!mediaType || !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw invalid(
      `unsupported manifest media type "${mediaType ?? header ?? '(none)'}"; send Content-Type ${MANIFEST_MEDIA_TYPES.join(', ')}`,
      'mediaType',
    );
  }
  const annotations = readAnnotations(doc.annotations, 'annotations');
  const subject = doc.subject === undefined ? undefined : readDescriptor(doc.subject, 'subject');
  if (doc.artifactType !== undefined && (typeof doc.artifactType !== 'string' || !MEDIA_TYPE_RE.test(doc.artifactType))) {
    throw invalid('artifactType must be a media type', 'artifactType');
  }
  const artifactType = doc.artifactType;
  const common = {
    mediaType,
    ...(subject ? { subject } : {}),
    ...(annotations ? { annotations } : {}),
  };

  if (IMAGE_TYPES.has(mediaType)) {
    if (doc.manifests !== undefined) throw invalid('an image manifest must not have "manifests" (that belongs in an index)', 'manifests');
    const config = readDescriptor(doc.config, 'config');
    const layers = readDescriptors(doc.layers ?? [], 'layers');
    const effectiveArtifactType = artifactType ?? config.mediaType;
    return {
      ...common,
      kind: 'image',
      config,
      layers,
      manifests: [],
      artifactType: effectiveArtifactType,
      blobDigests: unique([config.digest, ...layers.filter((l) => !l.urls?.length).map((l) => l.digest)]),
      manifestDigests: [],
    };
  }
  if (doc.layers !== undefined || doc.config !== undefined) {
    throw invalid('an index must not have "layers" or "config" (those belong in an image manifest)', doc.layers !== undefined ? 'layers' : 'config');
  }
  const manifests = readDescriptors(doc.manifests, 'manifests');
  return {
    ...common,
    kind: 'index',
    layers: [],
    manifests,
    ...(artifactType ? { artifactType } : {}),
    blobDigests: [],
    manifestDigests: unique(manifests.map((m) => m.digest)),
  };
}

function inferMediaType(doc: Record<string, unknown>): string | undefined {
  if (doc.manifests !== undefined && doc.config === undefined) return MEDIA_TYPES.ociIndex;
  if (doc.config !== undefined && doc.manifests === undefined) return MEDIA_TYPES.ociManifest;
  return undefined;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Pick the linux/amd64 entry of an index (plain `amd64` preferred over a variant). */
export function pickPlatform(manifests: readonly Descriptor[], os = 'linux', architecture = 'amd64'): Descriptor | undefined {
  const fits = manifests.filter(
    (m) => m.platform?.os === os && m.platform.architecture === architecture && MANIFEST_MEDIA_TYPES.includes(m.mediaType),
  );
  return fits.find((m) => !m.platform?.variant || m.platform.variant === 'v1') ?? fits[0];
}
