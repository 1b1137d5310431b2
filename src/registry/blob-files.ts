/**
 * The content-addressed files under KUMO_HOME: `blobs/sha256/<hex>` (the same shape as an OCI
 * image layout) and `uploads/<session>` for bytes still arriving. A file appears under `blobs/` only
 * by rename after its digest was checked and its bytes fsynced, so a crash never leaves a partial
 * blob visible; the rename target directory is fsynced too.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class BlobFiles {
  readonly blobsDir: string;
  readonly uploadsDir: string;

  constructor(home: string) {
    this.blobsDir = join(home, 'blobs', 'sha256');
    this.uploadsDir = join(home, 'uploads');
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.uploadsDir, { recursive: true });
  }

  /** Path of a sha256 blob by its hex. */
  pathOf(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  uploadPath(id: string): string {
    return join(this.uploadsDir, id);
  }

  /** Size on disk, or undefined when the file is absent. */
  sizeOnDisk(digest: string): number | undefined {
    try {
      return statSync(this.pathOf(digest)).size;
    } catch {
      return undefined;
    }
  }

  /** Move a verified, fsynced upload file into place. An identical blob already there wins. */
  async publish(uploadFile: string, digest: string): Promise<void> {
    const target = this.pathOf(digest);
    if (this.sizeOnDisk(digest) !== undefined) {
      await unlink(uploadFile).catch(() => undefined);
      return;
    }
    await rename(uploadFile, target);
    syncDir(this.blobsDir);
  }

  /** Write small content (a manifest) durably: temporary file, fsync, rename. */
  async writeBlob(bytes: Buffer, digest: string): Promise<void> {
    if (this.sizeOnDisk(digest) === bytes.length) return;
    const tmp = join(this.uploadsDir, `.write-${randomUUID()}`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.publish(tmp, digest);
  }

  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.pathOf(digest));
  }

  /** Remove blob files now (garbage collection runs this synchronously so nothing interleaves). */
  removeSync(digests: readonly string[]): void {
    for (const d of digests) {
      try {
        unlinkSync(this.pathOf(d));
      } catch {
        // already gone
      }
    }
    if (digests.length) syncDir(this.blobsDir);
  }

  /** Every blob file with its modification time, for the orphan sweep. */
  listBlobFiles(): { digest: string; mtimeMs: number; size: number }[] {
    const out: { digest: string; mtimeMs: number; size: number }[] = [];
    for (const name of readdirSync(this.blobsDir)) {
      try {
        const st = statSync(join(this.blobsDir, name));
        out.push({ digest: `sha256:${name}`, mtimeMs: st.mtimeMs, size: st.size });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /** Every file under uploads/ with its modification time. */
  listUploadFiles(): { name: string; mtimeMs: number }[] {
    const out: { name: string; mtimeMs: number }[] = [];
    for (const name of readdirSync(this.uploadsDir)) {
      try {
        out.push({ name, mtimeMs: statSync(join(this.uploadsDir, name)).mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  removeUploadFileSync(name: string): void {
    try {
      unlinkSync(join(this.uploadsDir, name));
    } catch {
      // already gone
    }
  }
}

export function hexOf(digest: string): string {
  const colon = digest.indexOf(':');
  return colon >= 0 ? digest.slice(colon + 1) : digest;
}

/** fsync a directory so a rename or unlink inside it survives a power cut. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
