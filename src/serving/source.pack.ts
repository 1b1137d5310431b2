/**
 * Pack a source folder as a deterministic gzipped tar (sorted names, zero times and owners), so
 * the same files always give the same digest. Skips `.git`, `.kumo` and what `.gcloudignore`
 * lists by plain name.
 */
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { KumoError } from '../shared/errors.js';

const ALWAYS_SKIP = new Set(['.git', '.kumo']);

function ignored(dir: string): Set<string> {
  const file = join(dir, '.gcloudignore');
  const out = new Set(ALWAYS_SKIP);
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim().replace(/^\/+|\/+$/g, '');
    if (t && !t.startsWith('#') && !t.includes('*') && !t.startsWith('!')) out.add(t);
  }
  return out;
}

function walk(root: string, dir: string, skip: Set<string>, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = relative(root, full);
    if (skip.has(name) || skip.has(rel)) continue;
    const st = lstatSync(full);
    if (st.isDirectory()) walk(root, full, skip, out);
    else if (st.isFile()) out.push(rel);
  }
}

export function listSourceFiles(dir: string): string[] {
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) {
    throw new KumoError('INVALID_ARGUMENT', `--source ${dir} is not a folder`, { field: '--source' });
  }
  const files: string[] = [];
  walk(dir, dir, ignored(dir), files);
  if (files.length === 0) throw new KumoError('INVALID_ARGUMENT', `--source ${dir} has no files`, { field: '--source' });
  return files;
}

export function packSource(dir: string): Readable {
  const files = listSourceFiles(dir);
  const pack = tar.pack();
  const gzip = createGzip();
  pack.pipe(gzip);
  (async () => {
    for (const rel of files) {
      const st = lstatSync(join(dir, rel));
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry(
          { name: rel, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' },
          (err) => (err ? reject(err) : resolve()),
        );
        createReadStream(join(dir, rel)).on('error', reject).pipe(entry);
      });
    }
    pack.finalize();
  })().catch((err: unknown) => gzip.destroy(err as Error));
  return gzip;
}
