/**
 * Unpack one image layer (a tar, plain or gzip) into an empty directory that overlayfs will use as
 * a read-only lower layer. Untrusted input, so every entry is placed with in-root resolution:
 * names are made root-relative, parents are resolved through symlinks inside the layer only, the
 * final component is created with O_EXCL (never written through a symlink), hardlink targets are
 * resolved the same way, and device nodes are skipped. OCI whiteouts become what overlayfs reads:
 * `.wh.NAME` a 0/0 character device at NAME, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr
 * on its directory (written by GNU tar, see overlay-specials.ts, as Node has no mknod or setxattr).
 */
import { createHash } from 'node:crypto';
import { lstat, link, lutimes, mkdir, open, rm, symlink, unlink, utimes, lchown, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { cleanEntryPath, climbsOut, resolveInRoot, PathEscapeError } from './paths.js';

/** A whiteout, opaque marker or fifo that GNU tar must create once all plain entries are in. */
export interface OverlaySpecial {
  kind: 'whiteout' | 'opaque' | 'fifo';
  /** Root-relative components (the parent resolved again before use). */
  parts: string[];
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface UnpackResult {
  specials: OverlaySpecial[];
  /** Entries refused but harmless to skip (device nodes). */
  skipped: string[];
  bytes: number;
}

export interface UnpackOptions {
  /** Expected digest of the raw blob (`sha256:…`); checked while reading. */
  digest?: string;
  /** Refuse a layer that unpacks to more than this many bytes (a decompression bomb). */
  maxBytes?: number;
}

export class UnsafeLayerError extends Error {}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Yield the blob's bytes, hashing them and checking the digest at the end. */
async function* verified(src: Readable, digest: string | undefined): AsyncGenerator<Buffer> {
  const [alg, expected] = digest ? digest.split(':') : [];
  const hash = alg === 'sha256' || alg === 'sha512' ? createHash(alg) : undefined;
  for await (const chunk of src) {
    const buf = chunk as Buffer;
    hash?.update(buf);
    yield buf;
  }
  if (hash && hash.digest('hex') !== expected) throw new UnsafeLayerError(`layer content does not match its digest ${digest ?? ''}`);
}

/** The tar stream inside a blob, whatever its compression. */
async function tarStreamOf(src: Readable, digest: string | undefined): Promise<Readable> {
  const it = verified(src, digest);
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  const rest = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      yield* it;
    })(),
  );
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(ZSTD_MAGIC)) throw new UnsafeLayerError('zstd-compressed layers are not supported yet; push the image with gzip or uncompressed layers');
  if (starts(GZIP_MAGIC)) {
    const gunzip = createGunzip();
    rest.on('error', (err) => gunzip.destroy(err));
    return rest.pipe(gunzip);
  }
  return rest;
}

/** Remove whatever sits at `path` (not following a symlink) so an entry can take its place. */
async function clear(path: string, keepDir: boolean): Promise<boolean> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return false;
  }
  if (st.isDirectory()) {
    if (keepDir) return true;
    await rm(path, { recursive: true, force: true });
  } else {
    await unlink(path);
  }
  return false;
}

export async function unpackLayer(blob: Readable, root: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const maxBytes = options.maxBytes ?? 16 * 1024 ** 3;
  const result: UnpackResult = { specials: [], skipped: [], bytes: 0 };
  const dirTimes: { path: string; mtime: Date }[] = [];
  const extract = tar.extract();
  const input = await tarStreamOf(blob, options.digest);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);

  for await (const entry of extract) {
    const h = entry.header;
    const parts = cleanEntryPath(h.name);
    const base = parts[parts.length - 1];
    try {
      if (climbsOut(h.name)) throw new UnsafeLayerError(`entry "${h.name}" climbs out of the image's root with ".."`);
      if (base === undefined) {
        // The root itself: only a directory entry may name it (a symlink here moved whole layers out, CVE-2021-29136).
        if (h.type !== 'directory') throw new UnsafeLayerError(`entry "${h.name}" would replace the root directory with a ${h.type ?? 'file'}`);
        entry.resume();
        continue;
      }
      if (base === OPAQUE_MARKER) {
        result.specials.push({ kind: 'opaque', parts: parts.slice(0, -1) });
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const target = base.slice(WHITEOUT_PREFIX.length);
        // `.wh..wh.*` are other AUFS markers (hardlink dirs); they carry nothing to apply.
        if (!target.startsWith(WHITEOUT_PREFIX)) {
          if (target === '' || target === '.' || target === '..') throw new UnsafeLayerError(`whiteout "${h.name}" names no file`);
          result.specials.push({ kind: 'whiteout', parts: [...parts.slice(0, -1), target] });
        }
        entry.resume();
        continue;
      }
      const parent = await resolveInRoot(root, parts.slice(0, -1), true);
      const path = join(parent, base);
      const mode = (h.mode ?? 0o644) & 0o7777;
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      const mtime = h.mtime ?? new Date(0);
      switch (h.type) {
        case 'directory': {
          if (!(await clear(path, true))) await mkdir(path, { mode: 0o700 });
          await lchown(path, uid, gid);
          await chmod(path, mode);
          dirTimes.push({ path, mtime });
          entry.resume();
          break;
        }
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined: {
          await clear(path, false);
          // 'wx' is O_CREAT|O_EXCL: it fails rather than follow anything already at `path`.
          const fh = await open(path, 'wx', 0o600);
          try {
            for await (const chunk of entry) {
              const buf = chunk as Buffer;
              result.bytes += buf.length;
              if (result.bytes > maxBytes) throw new UnsafeLayerError(`layer unpacks to more than ${maxBytes} bytes`);
              await fh.write(buf);
            }
            await fh.chown(uid, gid);
            await fh.chmod(mode);
            await fh.utimes(mtime, mtime);
          } finally {
            await fh.close();
          }
          break;
        }
        case 'symlink': {
          // Absolute targets mean the image's root; relative ones may not climb above it (Docker refuses them too).
          if (climbsOut(h.linkname ?? '', parts.length - 1)) throw new UnsafeLayerError(`symlink "${h.name}" -> "${h.linkname ?? ''}" points outside the image's root`);
          await clear(path, false);
          // Stored verbatim: an absolute target is meant inside the container, and kumo never follows it on the host.
          await symlink(h.linkname ?? '', path);
          await lchown(path, uid, gid);
          await lutimes(path, mtime, mtime);
          entry.resume();
          break;
        }
        case 'link': {
          if (climbsOut(h.linkname ?? '')) throw new UnsafeLayerError(`hardlink "${h.name}" -> "${h.linkname ?? ''}" points outside the image's root`);
          const targetParts = cleanEntryPath(h.linkname ?? '');
          const targetBase = targetParts[targetParts.length - 1];
          if (targetBase === undefined) throw new UnsafeLayerError(`hardlink "${h.name}" points at the root directory`);
          const target = join(await resolveInRoot(root, targetParts.slice(0, -1), false), targetBase);
          const st = await lstat(target);
          if (st.isDirectory()) throw new UnsafeLayerError(`hardlink "${h.name}" points at a directory`);
          await clear(path, false);
          await link(target, path);
          entry.resume();
          break;
        }
        case 'fifo': {
          result.specials.push({ kind: 'fifo', parts, mode, uid, gid });
          entry.resume();
          break;
        }
        case 'character-device':
        case 'block-device': {
          // runc creates /dev itself; a device node in a layer is never needed and could open host devices.
          result.skipped.push(h.name);
          entry.resume();
          break;
        }
        default:
          entry.resume();
      }
    } catch (err) {
      entry.resume();
      extract.destroy();
      if (err instanceof UnsafeLayerError) throw err;
      if (err instanceof PathEscapeError) throw new UnsafeLayerError(`entry "${h.name}": ${err.message}`);
      const e = err as NodeJS.ErrnoException;
      throw new UnsafeLayerError(`entry "${h.name}" (${h.type ?? 'file'}) could not be unpacked: ${e.code ?? e.message}`);
    }
  }
  // Directory times last, deepest first, since writing into a directory changes its mtime.
  dirTimes.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirTimes) await utimes(d.path, d.mtime, d.mtime).catch(() => undefined);
  return result;
}
