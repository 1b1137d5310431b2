/**
 * Blob upload sessions (distribution-spec §pushing-blobs): POST opens one, PATCH appends in order,
 * PUT?digest closes it. Bytes stream to `uploads/<id>` and into a running sha256 as they arrive; the
 * close checks the digest, fsyncs and renames the file into the blob store. Sessions live in SQLite so
 * they survive a restart (the running hash does not: it is rebuilt from the file when needed).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Clock } from '../shared/clock.js';
import { KumoError } from '../shared/errors.js';
import type { BlobFiles } from './blob-files.js';
import { RegistryError } from './errors.js';
import type { RegistryStore } from './registry.store.js';
import { StreamWriteError, streamToFile } from './stream-to-file.js';

interface LiveSession {
  id: string;
  repository: string;
  /** Bytes in the file so far. */
  offset: number;
  /** sha256 of bytes [0, offset), or undefined when it must be rebuilt from the file. */
  hash: Hash | undefined;
  busy: boolean;
}

/** An inclusive byte range from `Content-Range: <start>-<end>`. */
export interface ChunkRange {
  start: number;
  end: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Uploads {
  private readonly live = new Map<string, LiveSession>();
  constructor(
    private readonly files: BlobFiles,
    private readonly store: RegistryStore,
    private readonly clock: Clock,
    /** Digests being moved into the store right now; garbage collection leaves them alone. */
    private readonly publishing: Set<string>,
  ) {}

  /** Open a session: an empty file and a row. */
  async start(repository: string): Promise<{ id: string; offset: number }> {
    const id = randomUUID();
    const fh = await open(this.files.uploadPath(id), 'wx', 0o644);
    await fh.close();
    this.store.addUpload(id, repository, this.clock.now());
    this.live.set(id, { id, repository, offset: 0, hash: createHash('sha256'), busy: false });
    return { id, offset: 0 };
  }

  /** Current offset of a session (GET on the upload location). */
  async status(repository: string, id: string): Promise<{ offset: number }> {
    const s = await this.session(repository, id);
    return { offset: s.offset };
  }

  /**
   * Append a chunk. With a range, its start must be the current offset (else 416, as the spec
   * demands); without one the whole body is appended (a "stream" upload).
   */
  async append(repository: string, id: string, body: Readable, range?: ChunkRange, contentLength?: number): Promise<{ offset: number }> {
    const s = await this.session(repository, id);
    this.checkRange(s, range, contentLength);
    await this.write(s, body);
    return { offset: s.offset };
  }

  /** Close a session: append the optional last chunk, check the digest, publish the blob. */
  async finish(
    repository: string,
    id: string,
    digest: string,
    body: Readable | undefined,
    range?: ChunkRange,
    contentLength?: number,
  ): Promise<{ size: number }> {
    const s = await this.session(repository, id);
    if (body) {
      this.checkRange(s, range, contentLength);
      await this.write(s, body);
    }
    if (s.busy) throw busy(id);
    s.busy = true;
    try {
      const hash = s.hash ?? (await this.rehash(s));
      const actual = `sha256:${hash.copy().digest('hex')}`;
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', `the uploaded content has digest ${actual}, not ${digest} as the client said`, {
          detail: { expected: digest, actual },
        });
      }
      const path = this.files.uploadPath(id);
      const fh = await open(path, 'r+');
      try {
        await fh.truncate(s.offset);
        await fh.sync();
      } finally {
        await fh.close();
      }
      this.publishing.add(digest);
      try {
        await this.files.publish(path, digest);
        this.store.atomically(() => {
          this.store.addBlob(repository, digest, s.offset, this.clock.now());
          this.store.deleteUpload(id);
        });
      } finally {
        this.publishing.delete(digest);
      }
      this.live.delete(id);
      return { size: s.offset };
    } finally {
      s.busy = false;
    }
  }

  /** Cancel (DELETE on the upload location). */
  async cancel(repository: string, id: string): Promise<void> {
    const s = await this.session(repository, id);
    if (s.busy) throw busy(id);
    this.drop(id);
  }

  /**
   * Forget sessions untouched since `cutoff` (and stray files older than it, such as those a crash
   * left). Busy sessions are never expired. Returns how many sessions went.
   */
  expire(cutoff: number): number {
    let n = 0;
    for (const row of this.store.uploadsTouchedBefore(cutoff)) {
      if (this.live.get(row.id)?.busy) continue;
      this.drop(row.id);
      n++;
    }
    const known = this.store.allUploadIds();
    for (const f of this.files.listUploadFiles()) {
      if (!known.has(f.name) && f.mtimeMs < cutoff && !this.live.has(f.name)) this.files.removeUploadFileSync(f.name);
    }
    return n;
  }

  /** Sessions currently receiving bytes. */
  get activeCount(): number {
    let n = 0;
    for (const s of this.live.values()) if (s.busy) n++;
    return n;
  }

  private drop(id: string): void {
    this.live.delete(id);
    this.store.deleteUpload(id);
    this.files.removeUploadFileSync(id);
  }

  private async session(repository: string, id: string): Promise<LiveSession> {
    const unknown = (): RegistryError =>
      new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload session ${id} is not open in repository ${repository}; start a new one with POST /v2/${repository}/blobs/uploads/`, {
        detail: { session: id },
      });
    if (!UUID_RE.test(id)) throw unknown();
    const mem = this.live.get(id);
    if (mem) {
      if (mem.repository !== repository) throw unknown();
      return mem;
    }
    const row = this.store.getUpload(id);
    if (!row || row.repository !== repository) throw unknown();
    // A session from before a restart: the file is the truth, the hash is rebuilt on demand.
    let size: number;
    try {
      const fh = await open(this.files.uploadPath(id), 'r');
      size = (await fh.stat()).size;
      await fh.close();
    } catch {
      this.store.deleteUpload(id);
      throw unknown();
    }
    const s: LiveSession = { id, repository, offset: size, hash: undefined, busy: false };
    this.live.set(id, s);
    return s;
  }

  private checkRange(s: LiveSession, range: ChunkRange | undefined, contentLength: number | undefined): void {
    if (s.busy) throw busy(s.id);
    if (!range) return;
    if (range.start !== s.offset) {
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `chunk starts at byte ${range.start} but the upload has ${s.offset} bytes; send the chunk starting at ${s.offset} (GET the upload location for its state)`,
        { status: 416, detail: { offset: s.offset } },
      );
    }
    if (contentLength !== undefined && range.end - range.start + 1 !== contentLength) {
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `Content-Range ${range.start}-${range.end} covers ${range.end - range.start + 1} bytes but Content-Length is ${contentLength}`,
        { status: 416, detail: { offset: s.offset } },
      );
    }
  }

  private async write(s: LiveSession, body: Readable): Promise<void> {
    s.busy = true;
    this.store.touchUpload(s.id, this.clock.now());
    try {
      const hash = s.hash ?? (await this.rehash(s));
      const fh = await open(this.files.uploadPath(s.id), 'r+');
      try {
        const { written } = await streamToFile(body, fh.fd, s.offset, hash);
        s.offset += written;
        s.hash = hash;
      } catch (err) {
        if (!(err instanceof StreamWriteError)) throw err;
        // The hash saw bytes the file may not hold: rebuild it from the file next time.
        s.offset += err.written;
        s.hash = undefined;
        await fh.truncate(s.offset).catch(() => undefined);
        if (err.side === 'file') {
          throw new KumoError('UNAVAILABLE', `could not store upload ${s.id}: ${err.message}; check the free space of KUMO_HOME`, {}, { cause: err });
        }
        throw new RegistryError('BLOB_UPLOAD_INVALID', `the upload body ended early (${err.message}); ${s.offset} bytes are stored, GET the upload location to resume`, {
          detail: { offset: s.offset },
        });
      } finally {
        await fh.close();
      }
    } finally {
      s.busy = false;
      this.store.touchUpload(s.id, this.clock.now());
    }
  }

  private rehash(s: LiveSession): Promise<Hash> {
    return new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      const end = s.offset - 1;
      if (end < 0) return resolve(hash);
      createReadStream(this.files.uploadPath(s.id), { start: 0, end, highWaterMark: 1024 * 1024 })
        .on('data', (c) => hash.update(c))
        .on('error', reject)
        .on('end', () => {
          s.hash = hash;
          resolve(hash);
        });
    });
  }
}

function busy(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', `another request is writing to upload session ${id}; wait for it, then GET the upload location for its state`, {
    status: 416,
  });
}
