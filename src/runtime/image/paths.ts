/**
 * Paths inside an unpacked root, resolved the way the container would see them, never the host.
 * `cleanEntryPath` makes a tar entry name root-relative (`../x` and `/x` both become `x`, as
 * containerd does); `resolveInRoot` walks a path component by component, following symlinks as
 * if `root` were `/`, so a symlinked parent can never lead outside `root`.
 */
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Root-relative components of a tar entry name; `[]` means the root itself. */
export function cleanEntryPath(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * Does a path climb above its starting directory with `..` (from `depth` levels below the root)?
 * A leading `/` starts at the root. Image tools never write such names; Docker refuses them as
 * breakouts, and so does kumo (rather than quietly reading them as root-relative).
 */
export function climbsOut(path: string, depth = 0): boolean {
  let d = path.startsWith('/') ? 0 : depth;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (--d < 0) return true;
    } else d++;
  }
  return false;
}

const MAX_LINK_HOPS = 255;

export class PathEscapeError extends Error {}

/**
 * The host path of directory `parts` under `root`, following symlinks inside `root`. Missing
 * directories are created (mode 0755) when `create` is set; a non-directory in the way throws.
 */
export async function resolveInRoot(root: string, parts: string[], create: boolean): Promise<string> {
  const resolved: string[] = [];
  const pending = [...parts];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const here = join(root, ...resolved, part);
    let st;
    try {
      st = await lstat(here);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw err;
      await mkdir(here, { mode: 0o755 });
      resolved.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new PathEscapeError(`too many symlinks resolving /${parts.join('/')}`);
      const target = await readlink(here);
      // An absolute target means the root of the image, not of the host.
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) throw new PathEscapeError(`/${[...resolved, part].join('/')} is not a directory`);
    resolved.push(part);
  }
  return join(root, ...resolved);
}
