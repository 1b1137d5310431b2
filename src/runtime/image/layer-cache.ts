/**
 * Unpacked layers, once per digest, under `<dir>/sha256/<hex>`. A layer is unpacked into a
 * private temporary directory and renamed into place only when complete, so a crash never leaves
 * a half layer behind and every instance shares the same read-only copy.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KumoError } from '../../shared/errors.js';
import type { ImageSource, ResolvedImage } from '../runtime.js';
import { applyOverlaySpecials } from './overlay-specials.js';
import { unpackLayer, UnsafeLayerError } from './unpack.js';

const DIGEST = /^(sha256|sha512):([a-f0-9]{64}|[a-f0-9]{128})$/;

export interface LayerCacheOptions {
  /** e.g. `${KUMO_HOME}/layers` */
  dir: string;
  source: ImageSource;
  maxLayerBytes?: number;
}

export class LayerCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly o: LayerCacheOptions) {
    mkdirSync(o.dir, { recursive: true });
    // Temporary directories of an unpack a crashed server never finished.
    for (const alg of ['sha256', 'sha512']) {
      const d = join(o.dir, alg);
      if (!existsSync(d)) continue;
      for (const name of readdirSync(d)) if (name.startsWith('.tmp-')) rmSync(join(d, name), { recursive: true, force: true });
    }
  }

  /** Directory of an unpacked layer, relative to the cache root (short, for overlay's option string). */
  relativePath(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new KumoError('INVALID_ARGUMENT', `"${digest}" is not a valid layer digest`, { field: 'image' });
    return `${m[1]}/${m[2]}`;
  }

  get root(): string {
    return this.o.dir;
  }

  has(digest: string): boolean {
    return existsSync(join(this.o.dir, this.relativePath(digest)));
  }

  /** Unpack every layer of the image that is not cached yet; returns their directories, bottom first. */
  async ensureImage(image: ResolvedImage): Promise<string[]> {
    const dirs: string[] = [];
    for (const layer of image.layers) dirs.push(await this.ensure(layer.digest, image.reference));
    return dirs;
  }

  ensure(digest: string, reference = ''): Promise<string> {
    const rel = this.relativePath(digest);
    const dest = join(this.o.dir, rel);
    if (existsSync(dest)) return Promise.resolve(dest);
    let p = this.inflight.get(digest);
    if (!p) {
      p = this.unpack(digest, dest, reference).finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, p);
    }
    return p;
  }

  private async open(digest: string): Promise<Readable> {
    const path = this.o.source.blobPath?.(digest);
    if (path && existsSync(path)) return createReadStream(path, { highWaterMark: 1024 * 1024 });
    return this.o.source.openBlob(digest);
  }

  private async unpack(digest: string, dest: string, reference: string): Promise<string> {
    const tmp = join(dest, '..', `.tmp-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { recursive: true, mode: 0o755 });
    try {
      const blob = await this.open(digest);
      const result = await unpackLayer(blob, tmp, { digest, maxBytes: this.o.maxLayerBytes });
      await applyOverlaySpecials(tmp, result.specials);
      try {
        await rename(tmp, dest);
      } catch (err) {
        // Another process unpacked the same layer first: theirs is as good as ours.
        if (!existsSync(dest)) throw err;
        await rm(tmp, { recursive: true, force: true });
      }
      return dest;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (err instanceof KumoError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof UnsafeLayerError) {
        throw new KumoError('FAILED_PRECONDITION', `image ${reference || '?'}: layer ${digest} is refused as unsafe: ${why}`, { field: 'image' }, { cause: err });
      }
      throw new KumoError('INTERNAL', `image ${reference || '?'}: layer ${digest} cannot be unpacked: ${why}`, { field: 'image' }, { cause: err });
    }
  }

  /** Remove unpacked layers no image in `keep` uses. */
  prune(keep: Set<string>): string[] {
    const removed: string[] = [];
    for (const alg of ['sha256', 'sha512']) {
      const d = join(this.o.dir, alg);
      if (!existsSync(d)) continue;
      for (const hex of readdirSync(d)) {
        if (hex.startsWith('.tmp-') || keep.has(`${alg}:${hex}`)) continue;
        rmSync(join(d, hex), { recursive: true, force: true });
        removed.push(`${alg}:${hex}`);
      }
    }
    return removed;
  }
}
