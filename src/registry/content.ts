/**
 * What the registry holds and how it changes: blobs per repository, manifests (exact bytes, by tag
 * and digest), tags, referrers and the catalog. Transport-free: the /v2/ edge and kumo's own image
 * commands both call this.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import type { BlobFiles } from './blob-files.js';
import { RegistryError } from './errors.js';
import type { Descriptor } from './manifest.js';
import { MEDIA_TYPES, parseManifest } from './manifest.js';
import { isValidTag, parseManifestReference, requireSha256 } from './reference.js';
import type { ManifestRow, RegistryStore } from './registry.store.js';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
}

export interface PinnedImage {
  repository: string;
  digest: string;
}

export class RegistryContent {
  constructor(
    private readonly files: BlobFiles,
    private readonly store: RegistryStore,
    private readonly clock: Clock,
    private readonly publishing: Set<string>,
    private readonly pinned: () => Iterable<PinnedImage>,
  ) {}

  // ---- blobs --------------------------------------------------------------------------------

  /** A digest the client names for an upload: sha256 only, or DIGEST_INVALID. */
  checkDigest(text: string): string {
    return requireSha256(text, 'digest').text;
  }

  /** Size of a blob the repository holds, or BLOB_UNKNOWN. */
  blobSize(repository: string, digestText: string): number {
    const digest = requireSha256(digestText, 'blob digest').text;
    const size = this.store.linkedBlobSize(repository, digest);
    if (size === undefined || this.files.sizeOnDisk(digest) === undefined) throw blobUnknown(repository, digest);
    return size;
  }

  blobPath(digest: string): string {
    return this.files.pathOf(digest);
  }

  /** A pusher checked for this blob (HEAD): keep it through the next collection's grace period. */
  touchBlob(digest: string): void {
    this.store.touchBlob(digest, this.clock.now());
  }

  /**
   * Cross-repository mount. Any blob the registry holds is mounted whatever `from` says (the spec
   * allows this "anonymous mount"; every pusher holds the same admin token). False when unknown.
   */
  mount(repository: string, digestText: string): boolean {
    const digest = requireSha256(digestText, 'mount digest').text;
    if (this.files.sizeOnDisk(digest) === undefined) return false;
    return this.store.linkBlob(repository, digest, this.clock.now());
  }

  deleteBlob(repository: string, digestText: string): void {
    const digest = requireSha256(digestText, 'blob digest').text;
    if (!this.store.unlinkBlob(repository, digest)) throw blobUnknown(repository, digest);
  }

  // ---- manifests ----------------------------------------------------------------------------

  /**
   * Store a pushed manifest under a tag or its digest, plus `extraTags` (`?tag=`). Every blob and
   * child manifest it references must already be in the repository. Returns the stored facts and
   * the subject digest when there is one.
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: readonly string[] = [],
  ): Promise<StoredManifest & { subject?: string; tags: string[] }> {
    const ref = parseManifestReference(reference);
    const parsed = parseManifest(bytes, contentType);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (ref.kind === 'digest' && ref.digest.text !== digest) {
      throw new RegistryError('DIGEST_INVALID', `the manifest body has digest ${digest}, not ${ref.digest.text} as named in the URL`, {
        detail: { expected: ref.digest.text, actual: digest },
      });
    }
    for (const t of extraTags) {
      if (!isValidTag(t)) parseManifestReference(t);
    }
    const tags = [...(ref.kind === 'tag' ? [ref.tag] : []), ...extraTags];
    this.publishing.add(digest);
    try {
      await this.files.writeBlob(bytes, digest);
      const result = this.store.putManifest(
        {
          repository,
          digest,
          mediaType: parsed.mediaType,
          size: bytes.length,
          ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
          ...(parsed.subject ? { subject: parsed.subject.digest } : {}),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
          blobDigests: parsed.blobDigests,
          manifestDigests: parsed.manifestDigests,
          tags,
        },
        this.clock.now(),
      );
      const missing = [...result.missingBlobs, ...result.missingManifests];
      if (missing.length) {
        const what = result.missingBlobs.length ? 'blob' : 'manifest';
        throw new RegistryError(
          'MANIFEST_BLOB_UNKNOWN',
          `the manifest references ${missing.length} ${what}${missing.length > 1 ? 's' : ''} not in repository ${repository}: ${missing.join(', ')}; push ${missing.length > 1 ? 'them' : 'it'} first`,
          { detail: { digests: missing } },
        );
      }
    } finally {
      this.publishing.delete(digest);
    }
    return { digest, mediaType: parsed.mediaType, size: bytes.length, tags, ...(parsed.subject ? { subject: parsed.subject.digest } : {}) };
  }

  /** Facts of a manifest by tag or digest, or MANIFEST_UNKNOWN. */
  findManifest(repository: string, reference: string): ManifestRow {
    const ref = parseManifestReference(reference);
    const digest = ref.kind === 'tag' ? this.store.tagDigest(repository, ref.tag) : ref.digest.text;
    const row = digest ? this.store.getManifest(repository, digest) : undefined;
    if (!row) {
      const name = ref.kind === 'tag' ? `${repository}:${ref.tag}` : `${repository}@${ref.digest.text}`;
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name} is not in this registry`, {
        detail: ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest.text },
      });
    }
    return row;
  }

  /** The exact bytes that were pushed. */
  async readManifest(row: ManifestRow): Promise<Buffer> {
    try {
      return await this.files.readBlob(row.digest);
    } catch {
      throw new RegistryError('MANIFEST_UNKNOWN', `the bytes of manifest ${row.digest} are missing from the blob store`);
    }
  }

  /** DELETE by tag removes the tag; by digest removes the manifest and every tag on it. */
  deleteManifest(repository: string, reference: string): void {
    const ref = parseManifestReference(reference);
    if (ref.kind === 'tag') {
      if (!this.store.deleteTag(repository, ref.tag)) this.findManifest(repository, reference);
      return;
    }
    const digest = ref.digest.text;
    this.findManifest(repository, digest);
    for (const p of this.pinned()) {
      if (p.digest === digest) {
        throw new RegistryError('DENIED', `manifest ${digest} is pinned by a deployed revision; delete or redeploy that revision first`, {
          detail: { digest },
        });
      }
    }
    this.store.deleteManifest(repository, digest);
  }

  // ---- discovery ----------------------------------------------------------------------------

  listTags(repository: string, n: number | undefined, last: string | undefined): { tags: string[]; more: boolean } {
    if (!this.store.repositoryExists(repository)) {
      throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not in this registry`, { detail: { name: repository } });
    }
    const limit = Math.min(n ?? MAX_PAGE, MAX_PAGE);
    if (limit === 0) return { tags: [], more: false };
    const tags = this.store.listTags(repository, last, limit + 1);
    return { tags: tags.slice(0, limit), more: tags.length > limit };
  }

  catalog(n: number | undefined, last: string | undefined): { repositories: string[]; more: boolean } {
    const limit = Math.min(n ?? MAX_PAGE, MAX_PAGE);
    if (limit === 0) return { repositories: [], more: false };
    const repos = this.store.listRepositories(last, limit + 1);
    return { repositories: repos.slice(0, limit), more: repos.length > limit };
  }

  /** The referrers index of `subject`, optionally only those of one artifact type. */
  referrers(repository: string, subjectText: string, artifactType: string | undefined): { mediaType: string; schemaVersion: 2; manifests: Descriptor[] } {
    const subject = requireSha256(subjectText, 'subject digest').text;
    const manifests = this.store
      .referrers(repository, subject)
      .filter((r) => artifactType === undefined || r.artifactType === artifactType)
      .map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      }));
    return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests };
  }
}

/** Largest page of tags or repositories answered at once; more come with a `Link`. */
export const MAX_PAGE = 10_000;

function blobUnknown(repository: string, digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repository}`, { detail: digest });
}
