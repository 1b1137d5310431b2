/**
 * Pinned source snapshots: a `--source` folder arrives as a tar stream, is hashed while it is
 * written to a temporary file, unpacked safely (regular files and folders only, no path leaves
 * the root) into `sources/sha256/<hex>`, and never changes afterwards.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { KumoError } from '../shared/errors.js';

export const MAX_SOURCE_BYTES = 512 * 1024 * 1024;

export class SourceStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(home: string) {
    this.root = join(home, 'sources', 'sha256');
    this.tmp = join(home, 'sources', 'tmp');
    mkdirSync(this.root, { recursive: true });
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  has(digest: string): boolean {
    const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
    return hex !== undefined && existsSync(join(this.root, hex));
  }

  dirFor(digest: string): string {
    const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
    if (!hex || !existsSync(join(this.root, hex))) {
      throw new KumoError('NOT_FOUND', `source snapshot ${digest} is not on this server; deploy again with --source DIR`);
    }
    return join(this.root, hex);
  }

  /** Store a gzipped tar of a folder; returns its digest (of the gzipped bytes). */
  async put(body: Readable): Promise<{ digest: string; files: number; bytes: number }> {
    const id = randomUUID();
    const file = join(this.tmp, `${id}.tgz`);
    const hash = createHash('sha256');
    let bytes = 0;
    body.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
      if (bytes > MAX_SOURCE_BYTES) body.destroy(new KumoError('PAYLOAD_TOO_LARGE', `source upload is over ${MAX_SOURCE_BYTES / 1024 ** 2} MiB; leave build outputs out of the folder`));
    });
    try {
      await pipeline(body, createWriteStream(file));
      const digest = `sha256:${hash.digest('hex')}`;
      const dest = join(this.root, digest.slice(7));
      if (existsSync(dest)) return { digest, files: -1, bytes };
      const staging = join(this.tmp, id);
      const files = await unpack(file, staging);
      try {
        renameSync(staging, dest);
      } catch (err) {
        if (!existsSync(dest)) throw err; // a concurrent upload of the same folder won the race
        rmSync(staging, { recursive: true, force: true });
      }
      return { digest, files, bytes };
    } finally {
      rmSync(file, { force: true });
    }
  }
}

async function unpack(file: string, dest: string): Promise<number> {
  mkdirSync(dest, { recursive: true });
  const extract = tar.extract();
  let files = 0;
  extract.on('entry', (header, stream, next) => {
    const target = safePath(dest, header.name);
    const done = (err?: unknown) => (err ? extract.destroy(err as Error) : next());
    if (!target || (header.type !== 'file' && header.type !== 'directory')) {
      stream.resume();
      stream.on('end', () => done());
      return;
    }
    if (header.type === 'directory') {
      stream.resume();
      mkdir(target, { recursive: true }).then(() => done(), done);
      return;
    }
    files++;
    const mode = (header.mode ?? 0o644) & 0o755;
    mkdir(dirname(target), { recursive: true })
      .then(() => pipeline(stream, createWriteStream(target, { mode })))
      .then(() => done(), done);
  });
  try {
    await pipeline(createReadStream(file), createGunzip(), extract);
  } catch (err) {
    rmSync(dest, { recursive: true, force: true });
    throw new KumoError('INVALID_ARGUMENT', `the source upload is not a gzipped tar archive (${(err as Error).message}); use \`kumo run deploy --source DIR\``, { field: 'source' });
  }
  return files;
}

/** The path inside `root` an archive entry names, or undefined when it would leave the root. */
export function safePath(root: string, name: string): string | undefined {
  const clean = normalize(name.replace(/^\.\/+/, ''));
  if (clean === '.' || clean === '' || clean.startsWith('..') || clean.startsWith(sep)) return undefined;
  const full = join(root, clean);
  return full.startsWith(root + sep) ? full : undefined;
}
