/**
 * The registry's metadata in SQLite: which blobs exist, which repositories link them, manifests
 * (bytes live in the blob store), what each manifest references, tags and upload sessions.
 * Every multi-row change is one transaction, so a kill -9 never leaves a half-written manifest.
 */
import type { Database, Migration } from '../store/database.js';
import { migrate } from '../store/database.js';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'registry-001-tables',
    sql: `
      CREATE TABLE registry_blobs (
        digest TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        used_at INTEGER NOT NULL
      );
      CREATE TABLE registry_repo_blobs (
        repository TEXT NOT NULL,
        digest TEXT NOT NULL REFERENCES registry_blobs(digest) ON DELETE CASCADE,
        PRIMARY KEY (repository, digest)
      );
      CREATE INDEX registry_repo_blobs_digest ON registry_repo_blobs(digest);
      CREATE TABLE registry_manifests (
        repository TEXT NOT NULL,
        digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        artifact_type TEXT,
        subject TEXT,
        annotations TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (repository, digest)
      );
      CREATE INDEX registry_manifests_subject ON registry_manifests(repository, subject) WHERE subject IS NOT NULL;
      CREATE TABLE registry_manifest_refs (
        repository TEXT NOT NULL,
        manifest TEXT NOT NULL,
        child TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
        position INTEGER NOT NULL,
        PRIMARY KEY (repository, manifest, kind, child),
        FOREIGN KEY (repository, manifest) REFERENCES registry_manifests(repository, digest) ON DELETE CASCADE
      );
      CREATE TABLE registry_tags (
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (repository, tag),
        FOREIGN KEY (repository, digest) REFERENCES registry_manifests(repository, digest) ON DELETE CASCADE
      );
      CREATE TABLE registry_uploads (
        id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        touched_at INTEGER NOT NULL
      );
    `,
  },
];

export interface ManifestRow {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface NewManifest {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  subject?: string;
  annotations?: Record<string, string>;
  blobDigests: string[];
  manifestDigests: string[];
  tags: string[];
}

export interface UploadRow {
  id: string;
  repository: string;
  startedAt: number;
  touchedAt: number;
}

interface RawManifest {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
}

function toManifest(r: RawManifest): ManifestRow {
  return {
    repository: r.repository,
    digest: r.digest,
    mediaType: r.media_type,
    size: r.size,
    artifactType: r.artifact_type,
    subject: r.subject,
    annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    createdAt: r.created_at,
  };
}

/** A snapshot of everything garbage collection decides over. */
export interface CollectionSnapshot {
  manifests: { repository: string; digest: string; subject: string | null; createdAt: number }[];
  tags: { repository: string; digest: string }[];
  refs: { repository: string; manifest: string; child: string; kind: 'blob' | 'manifest' }[];
  blobs: { digest: string; size: number; usedAt: number }[];
}

export class RegistryStore {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
    migrate(db, REGISTRY_MIGRATIONS);
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** Record a stored blob and link it into `repository`. */
  addBlob(repository: string, digest: string, size: number, now: number): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO registry_blobs (digest, size, created_at, used_at) VALUES (?, ?, ?, ?) ON CONFLICT(digest) DO UPDATE SET used_at = excluded.used_at')
        .run(digest, size, now, now);
      this.db.prepare('INSERT OR IGNORE INTO registry_repo_blobs (repository, digest) VALUES (?, ?)').run(repository, digest);
    })();
  }

  /** Size of the blob when `repository` links it. */
  linkedBlobSize(repository: string, digest: string): number | undefined {
    const row = this.db
      .prepare('SELECT b.size AS size FROM registry_repo_blobs r JOIN registry_blobs b ON b.digest = r.digest WHERE r.repository = ? AND r.digest = ?')
      .get(repository, digest) as { size: number } | undefined;
    return row?.size;
  }

  blobSize(digest: string): number | undefined {
    const row = this.db.prepare('SELECT size FROM registry_blobs WHERE digest = ?').get(digest) as { size: number } | undefined;
    return row?.size;
  }

  /** Note that a pusher just saw this blob, so a collection pass within the grace period keeps it. */
  touchBlob(digest: string, now: number): void {
    this.db.prepare('UPDATE registry_blobs SET used_at = ? WHERE digest = ?').run(now, digest);
  }

  /** Link an existing blob into another repository (cross-repository mount). */
  linkBlob(repository: string, digest: string, now: number): boolean {
    return this.db.transaction(() => {
      const changed = this.db.prepare('UPDATE registry_blobs SET used_at = ? WHERE digest = ?').run(now, digest).changes;
      if (changed === 0) return false;
      this.db.prepare('INSERT OR IGNORE INTO registry_repo_blobs (repository, digest) VALUES (?, ?)').run(repository, digest);
      return true;
    })();
  }

  /** Whether `from` links the blob (for a mount that names its source). */
  isLinked(repository: string, digest: string): boolean {
    return this.db.prepare('SELECT 1 FROM registry_repo_blobs WHERE repository = ? AND digest = ?').get(repository, digest) !== undefined;
  }

  unlinkBlob(repository: string, digest: string): boolean {
    return this.db.prepare('DELETE FROM registry_repo_blobs WHERE repository = ? AND digest = ?').run(repository, digest).changes > 0;
  }

  /** Forget blobs entirely (garbage collection); returns how many rows went. */
  forgetBlobs(digests: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM registry_blobs WHERE digest = ?');
    this.db.transaction(() => {
      for (const d of digests) del.run(d);
    })();
  }

  allBlobDigests(): Set<string> {
    return new Set((this.db.prepare('SELECT digest FROM registry_blobs').all() as { digest: string }[]).map((r) => r.digest));
  }

  // ---- manifests and tags --------------------------------------------------------------------

  /**
   * Store a manifest's metadata, its references and tags in one transaction, after checking
   * every referenced blob and child manifest is present in the repository. Returns the missing
   * digests (and stores nothing) when some are absent.
   */
  putManifest(m: NewManifest, now: number): { missingBlobs: string[]; missingManifests: string[] } {
    return this.db.transaction(() => {
      const missingBlobs = m.blobDigests.filter((d) => !this.isLinked(m.repository, d));
      const missingManifests = m.manifestDigests.filter((d) => !this.getManifest(m.repository, d));
      if (missingBlobs.length || missingManifests.length) return { missingBlobs, missingManifests };
      const exists = this.getManifest(m.repository, m.digest);
      if (!exists) {
        this.db
          .prepare(
            `INSERT INTO registry_manifests (repository, digest, media_type, size, artifact_type, subject, annotations, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(m.repository, m.digest, m.mediaType, m.size, m.artifactType ?? null, m.subject ?? null, m.annotations ? JSON.stringify(m.annotations) : null, now);
        const ref = this.db.prepare('INSERT OR IGNORE INTO registry_manifest_refs (repository, manifest, child, kind, position) VALUES (?, ?, ?, ?, ?)');
        m.blobDigests.forEach((d, i) => ref.run(m.repository, m.digest, d, 'blob', i));
        m.manifestDigests.forEach((d, i) => ref.run(m.repository, m.digest, d, 'manifest', i));
      }
      const tag = this.db.prepare(
        `INSERT INTO registry_tags (repository, tag, digest, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
      );
      for (const t of m.tags) tag.run(m.repository, t, m.digest, now);
      // The manifest's own bytes are a blob of the repository too (GET /v2/<name>/blobs/<digest> serves them).
      this.db
        .prepare('INSERT INTO registry_blobs (digest, size, created_at, used_at) VALUES (?, ?, ?, ?) ON CONFLICT(digest) DO UPDATE SET used_at = excluded.used_at')
        .run(m.digest, m.size, now, now);
      this.db.prepare('INSERT OR IGNORE INTO registry_repo_blobs (repository, digest) VALUES (?, ?)').run(m.repository, m.digest);
      return { missingBlobs: [], missingManifests: [] };
    })();
  }

  getManifest(repository: string, digest: string): ManifestRow | undefined {
    const r = this.db.prepare('SELECT * FROM registry_manifests WHERE repository = ? AND digest = ?').get(repository, digest) as RawManifest | undefined;
    return r ? toManifest(r) : undefined;
  }

  tagDigest(repository: string, tag: string): string | undefined {
    const r = this.db.prepare('SELECT digest FROM registry_tags WHERE repository = ? AND tag = ?').get(repository, tag) as { digest: string } | undefined;
    return r?.digest;
  }

  /** Tags of a repository in byte order, after `last`, at most `limit`. */
  listTags(repository: string, last: string | undefined, limit: number): string[] {
    const rows = this.db
      .prepare('SELECT tag FROM registry_tags WHERE repository = ? AND tag > ? ORDER BY tag LIMIT ?')
      .all(repository, last ?? '', limit) as { tag: string }[];
    return rows.map((r) => r.tag);
  }

  tagsOf(repository: string, digest: string): string[] {
    const rows = this.db.prepare('SELECT tag FROM registry_tags WHERE repository = ? AND digest = ? ORDER BY tag').all(repository, digest) as { tag: string }[];
    return rows.map((r) => r.tag);
  }

  deleteTag(repository: string, tag: string): boolean {
    return this.db.prepare('DELETE FROM registry_tags WHERE repository = ? AND tag = ?').run(repository, tag).changes > 0;
  }

  /** Delete a manifest with its tags and references. */
  deleteManifest(repository: string, digest: string): boolean {
    return this.db.prepare('DELETE FROM registry_manifests WHERE repository = ? AND digest = ?').run(repository, digest).changes > 0;
  }

  deleteManifests(items: readonly { repository: string; digest: string }[]): void {
    const del = this.db.prepare('DELETE FROM registry_manifests WHERE repository = ? AND digest = ?');
    this.db.transaction(() => {
      for (const i of items) del.run(i.repository, i.digest);
    })();
  }

  /** Children in order: config then layers (`blob`), or index entries (`manifest`). */
  refsOf(repository: string, digest: string, kind: 'blob' | 'manifest'): string[] {
    const rows = this.db
      .prepare('SELECT child FROM registry_manifest_refs WHERE repository = ? AND manifest = ? AND kind = ? ORDER BY position')
      .all(repository, digest, kind) as { child: string }[];
    return rows.map((r) => r.child);
  }

  referrers(repository: string, subject: string): ManifestRow[] {
    const rows = this.db
      .prepare('SELECT * FROM registry_manifests WHERE repository = ? AND subject = ? ORDER BY created_at, digest')
      .all(repository, subject) as RawManifest[];
    return rows.map(toManifest);
  }

  /** Whether anything (a manifest or a linked blob) lives in the repository. */
  repositoryExists(repository: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM registry_manifests WHERE repository = ? LIMIT 1').get(repository) !== undefined ||
      this.db.prepare('SELECT 1 FROM registry_repo_blobs WHERE repository = ? LIMIT 1').get(repository) !== undefined
    );
  }

  /** Repository names holding manifests, in byte order, after `last`. */
  listRepositories(last: string | undefined, limit: number): string[] {
    const rows = this.db
      .prepare('SELECT DISTINCT repository FROM registry_manifests WHERE repository > ? ORDER BY repository LIMIT ?')
      .all(last ?? '', limit) as { repository: string }[];
    return rows.map((r) => r.repository);
  }

  manifestsOf(repository: string): ManifestRow[] {
    const rows = this.db.prepare('SELECT * FROM registry_manifests WHERE repository = ? ORDER BY created_at, digest').all(repository) as RawManifest[];
    return rows.map(toManifest);
  }

  /** Every (repository, digest) row whose digest is `digest`. */
  manifestsWithDigest(digest: string): ManifestRow[] {
    const rows = this.db.prepare('SELECT * FROM registry_manifests WHERE digest = ?').all(digest) as RawManifest[];
    return rows.map(toManifest);
  }

  snapshot(): CollectionSnapshot {
    return this.db.transaction(() => ({
      manifests: (
        this.db.prepare('SELECT repository, digest, subject, created_at FROM registry_manifests').all() as {
          repository: string;
          digest: string;
          subject: string | null;
          created_at: number;
        }[]
      ).map((r) => ({ repository: r.repository, digest: r.digest, subject: r.subject, createdAt: r.created_at })),
      tags: this.db.prepare('SELECT repository, digest FROM registry_tags').all() as { repository: string; digest: string }[],
      refs: this.db.prepare('SELECT repository, manifest, child, kind FROM registry_manifest_refs').all() as CollectionSnapshot['refs'],
      blobs: (this.db.prepare('SELECT digest, size, used_at FROM registry_blobs').all() as { digest: string; size: number; used_at: number }[]).map((r) => ({
        digest: r.digest,
        size: r.size,
        usedAt: r.used_at,
      })),
    }))();
  }

  /** Run `fn` in one transaction. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- upload sessions ----------------------------------------------------------------------

  addUpload(id: string, repository: string, now: number): void {
    this.db.prepare('INSERT INTO registry_uploads (id, repository, started_at, touched_at) VALUES (?, ?, ?, ?)').run(id, repository, now, now);
  }

  getUpload(id: string): UploadRow | undefined {
    const r = this.db.prepare('SELECT * FROM registry_uploads WHERE id = ?').get(id) as
      | { id: string; repository: string; started_at: number; touched_at: number }
      | undefined;
    return r ? { id: r.id, repository: r.repository, startedAt: r.started_at, touchedAt: r.touched_at } : undefined;
  }

  touchUpload(id: string, now: number): void {
    this.db.prepare('UPDATE registry_uploads SET touched_at = ? WHERE id = ?').run(now, id);
  }

  deleteUpload(id: string): void {
    this.db.prepare('DELETE FROM registry_uploads WHERE id = ?').run(id);
  }

  uploadsTouchedBefore(cutoff: number): UploadRow[] {
    const rows = this.db.prepare('SELECT * FROM registry_uploads WHERE touched_at < ?').all(cutoff) as {
      id: string;
      repository: string;
      started_at: number;
      touched_at: number;
    }[];
    return rows.map((r) => ({ id: r.id, repository: r.repository, startedAt: r.started_at, touchedAt: r.touched_at }));
  }

  allUploadIds(): Set<string> {
    return new Set((this.db.prepare('SELECT id FROM registry_uploads').all() as { id: string }[]).map((r) => r.id));
  }
}
