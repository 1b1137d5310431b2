/**
 * kumo's own view of the registry: images for `kumo images list|describe|delete`, and the
 * resolution of an image reference to a pinned, runnable image for the runtimes.
 *
 * Reference mapping: whatever host an image reference names, kumo looks up the path after it in its
 * own registry. `localhost:8080/hello:v1` → `hello:v1`; `gcr.io/p/app:v1` → `p/app:v1`;
 * `us-docker.pkg.dev/p/r/img:v1` → `p/r/img:v1`; `hello` → `hello:latest`.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ImageSource, ResolvedImage } from '../runtime/runtime.js';
import { KumoError } from '../shared/errors.js';
import type { BlobFiles } from './blob-files.js';
import type { RegistryContent } from './content.js';
import { MEDIA_TYPES, parseManifest, pickPlatform } from './manifest.js';
import { parseImageReference } from './reference.js';
import type { ManifestRow, RegistryStore } from './registry.store.js';

export interface ImageSummary {
  repository: string;
  tags: string[];
  /** Manifests stored in the repository (tagged or not). */
  manifestCount: number;
  /** Bytes of distinct blobs the repository's manifests reference. */
  sizeBytes: number;
  updatedAt: string;
}

export interface ImageVersion {
  repository: string;
  digest: string;
  mediaType: string;
  kind: 'image' | 'index' | 'artifact';
  tags: string[];
  /** Manifest, config and layers (for an index: everything its manifests reference, once each). */
  sizeBytes: number;
  createdAt: string;
  pinned: boolean;
  platforms?: string[];
  layers?: { digest: string; mediaType: string; size: number }[];
  artifactType?: string;
  subject?: string;
}

export interface ImageDescription {
  repository: string;
  versions: ImageVersion[];
}

export interface DeleteResult {
  untagged: string[];
  deleted: { repository: string; digest: string }[];
}

const CONFIG_TYPES = new Set<string>([MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig]);

export class Images implements ImageSource {
  constructor(
    private readonly files: BlobFiles,
    private readonly store: RegistryStore,
    private readonly content: RegistryContent,
    private readonly pinnedDigests: () => Set<string>,
    /** How users reach the registry (read per message: the server learns its port after listening). */
    private readonly publicHostOf: () => string,
  ) {}

  list(): ImageSummary[] {
    const out: ImageSummary[] = [];
    for (let last: string | undefined; ; ) {
      const page = this.store.listRepositories(last, 1000);
      for (const repository of page) {
        const rows = this.store.manifestsOf(repository);
        const digests = new Set<string>();
        for (const r of rows) this.reach(repository, r.digest, digests);
        out.push({
          repository,
          tags: this.store.listTags(repository, undefined, 1_000_000),
          manifestCount: rows.length,
          sizeBytes: this.sumSizes(digests),
          updatedAt: new Date(Math.max(...rows.map((r) => r.createdAt))).toISOString(),
        });
      }
      if (page.length < 1000) return out;
      last = page.at(-1);
    }
  }

  /** `repo`, `repo:tag` or `repo@digest` (any host prefix is dropped). */
  async describe(name: string): Promise<ImageDescription> {
    const ref = parseImageReference(name);
    const pinned = this.pinnedDigests();
    let rows: ManifestRow[];
    if (ref.digest || ref.tag) {
      rows = [this.content.findManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest')];
    } else {
      rows = this.store.manifestsOf(ref.repository);
      if (!rows.length) throw new KumoError('NOT_FOUND', `repository ${ref.repository} is not in kumo's registry; \`kumo images list\` shows what is`);
    }
    const versions: ImageVersion[] = [];
    for (const r of rows) versions.push(await this.version(r, pinned));
    return { repository: ref.repository, versions };
  }

  /**
   * Delete by digest: the manifest and its tags (refused when a revision is pinned to it). Delete by
   * tag: the tag, and the manifest too when no other tag names it and no revision is pinned to it.
   * Blobs are freed by the next `gc`.
   */
  delete(name: string): DeleteResult {
    const ref = parseImageReference(name);
    const pinned = this.pinnedDigests();
    const row = this.content.findManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
    if (ref.digest) {
      if (pinned.has(row.digest)) throw pinnedError(ref.repository, row.digest);
      const untagged = this.store.tagsOf(ref.repository, row.digest);
      this.store.deleteManifest(ref.repository, row.digest);
      return { untagged, deleted: [{ repository: ref.repository, digest: row.digest }] };
    }
    const tag = ref.tag ?? 'latest';
    return this.store.atomically(() => {
      this.store.deleteTag(ref.repository, tag);
      const deleted: DeleteResult['deleted'] = [];
      if (this.store.tagsOf(ref.repository, row.digest).length === 0 && !pinned.has(row.digest)) {
        this.store.deleteManifest(ref.repository, row.digest);
        deleted.push({ repository: ref.repository, digest: row.digest });
      }
      return { untagged: [tag], deleted };
    });
  }

  /** Resolve a reference to a runnable linux/amd64 image, pinned by digest. */
  async resolve(reference: string): Promise<ResolvedImage> {
    const ref = parseImageReference(reference);
    const wanted = ref.digest ?? ref.tag ?? 'latest';
    let row: ManifestRow;
    try {
      row = this.content.findManifest(ref.repository, wanted);
    } catch {
      throw this.notPushed(reference, ref.host, ref.repository, ref.digest ? `@${ref.digest}` : `:${wanted}`);
    }
    let parsed = parseManifest(await this.content.readManifest(row), row.mediaType);
    if (parsed.kind === 'index') {
      const entry = pickPlatform(parsed.manifests);
      if (!entry) {
        const platforms = parsed.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : m.digest));
        throw new KumoError('FAILED_PRECONDITION', `image ${reference} has no linux/amd64 manifest (it has: ${platforms.join(', ') || 'none'}); push a linux/amd64 image`);
      }
      row = this.content.findManifest(ref.repository, entry.digest);
      parsed = parseManifest(await this.content.readManifest(row), row.mediaType);
    }
    const config = parsed.config;
    if (parsed.kind !== 'image' || !config || !CONFIG_TYPES.has(config.mediaType)) {
      throw new KumoError('FAILED_PRECONDITION', `${reference} is an artifact (${parsed.artifactType ?? row.mediaType}), not a container image`);
    }
    const missing = [config, ...parsed.layers].filter((d) => this.files.sizeOnDisk(d.digest) === undefined).map((d) => d.digest);
    if (missing.length) {
      throw new KumoError('FAILED_PRECONDITION', `image ${reference} is incomplete: blobs ${missing.join(', ')} are missing; push it again`);
    }
    return {
      reference,
      repository: ref.repository,
      digest: row.digest,
      layers: parsed.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
      config: readRunConfig(await this.files.readBlob(config.digest), reference),
    };
  }

  // ---- ImageSource ----------------------------------------------------------------------------

  async openBlob(digest: string): Promise<Readable> {
    if (this.files.sizeOnDisk(digest) === undefined) throw new KumoError('NOT_FOUND', `blob ${digest} is not in kumo's registry`);
    return createReadStream(this.files.pathOf(digest), { highWaterMark: 1024 * 1024 });
  }

  blobPath(digest: string): string | undefined {
    return this.files.sizeOnDisk(digest) === undefined ? undefined : this.files.pathOf(digest);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private notPushed(reference: string, host: string | undefined, repository: string, suffix: string): KumoError {
    const publicHost = this.publicHostOf();
    const target = `${publicHost}/${repository}${suffix}`;
    const local = host !== undefined && /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
    const fix = suffix.startsWith('@')
      ? `push the image to ${publicHost}/${repository} (its digest stays the same), e.g. \`docker push ${publicHost}/${repository}:TAG\``
      : local
        ? `\`docker push ${target}\``
        : `\`docker tag ${reference} ${target} && docker push ${target}\``;
    return new KumoError('NOT_FOUND', `image ${reference} is not in kumo's registry (looked for ${repository}${suffix}); push it first: ${fix}`);
  }

  private async version(r: ManifestRow, pinned: Set<string>): Promise<ImageVersion> {
    const digests = new Set<string>();
    this.reach(r.repository, r.digest, digests);
    const v: ImageVersion = {
      repository: r.repository,
      digest: r.digest,
      mediaType: r.mediaType,
      kind: 'image',
      tags: this.store.tagsOf(r.repository, r.digest),
      sizeBytes: this.sumSizes(digests),
      createdAt: new Date(r.createdAt).toISOString(),
      pinned: pinned.has(r.digest),
      ...(r.subject ? { subject: r.subject } : {}),
    };
    const parsed = parseManifest(await this.content.readManifest(r), r.mediaType);
    if (parsed.kind === 'index') {
      v.kind = 'index';
      v.platforms = parsed.manifests.map((m) =>
        m.platform ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/') : m.digest,
      );
    } else {
      v.layers = parsed.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size }));
      if (parsed.config && !CONFIG_TYPES.has(parsed.config.mediaType)) v.kind = 'artifact';
    }
    if (r.artifactType && v.kind !== 'image') v.artifactType = r.artifactType;
    return v;
  }

  /** Every digest (manifests and blobs) reachable from a manifest. */
  private reach(repository: string, digest: string, into: Set<string>): void {
    if (into.has(digest)) return;
    into.add(digest);
    for (const b of this.store.refsOf(repository, digest, 'blob')) into.add(b);
    for (const c of this.store.refsOf(repository, digest, 'manifest')) this.reach(repository, c, into);
  }

  private sumSizes(digests: Set<string>): number {
    let total = 0;
    for (const d of digests) total += this.store.blobSize(d) ?? 0;
    return total;
  }
}

function pinnedError(repository: string, digest: string): KumoError {
  return new KumoError('FAILED_PRECONDITION', `${repository}@${digest} is pinned by a deployed revision; delete or redeploy that revision first`);
}

/** The parts of an image config a runtime needs, with defaults for what the image leaves out. */
export function readRunConfig(bytes: Buffer, reference: string): ResolvedImage['config'] {
  let doc: { config?: Record<string, unknown> | null };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new KumoError('FAILED_PRECONDITION', `the config blob of ${reference} is not valid JSON; rebuild and push the image`);
  }
  const c = doc.config ?? {};
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const ports = c.ExposedPorts && typeof c.ExposedPorts === 'object' ? Object.keys(c.ExposedPorts) : [];
  return {
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    user: typeof c.User === 'string' ? c.User : '',
    exposedPorts: ports.map((p) => Number.parseInt(p, 10)).filter((p) => Number.isInteger(p) && p > 0 && p < 65536),
  };
}
