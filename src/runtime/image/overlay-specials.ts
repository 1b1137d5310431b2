/**
 * Write overlayfs whiteouts (0/0 character devices), opaque markers (`trusted.overlay.opaque=y`)
 * and fifos into an unpacked layer. Node can neither mknod nor setxattr, so kumo hands GNU tar a
 * small archive it generates itself. Every path is resolved inside the layer again right before,
 * once nothing else writes to the directory, so tar only ever sees real, symlink-free directories.
 */
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import tar from 'tar-stream';
import { resolveInRoot } from './paths.js';
import type { OverlaySpecial } from './unpack.js';

export async function applyOverlaySpecials(root: string, specials: OverlaySpecial[]): Promise<void> {
  if (specials.length === 0) return;
  const pack = tar.pack();
  for (const s of specials) {
    if (s.kind === 'opaque') {
      const dir = await resolveInRoot(root, s.parts, true);
      const st = await lstat(dir);
      const name = relative(root, dir) || '.';
      pack.entry({
        name: `${name}/`,
        type: 'directory',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtime,
        pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' },
      });
      continue;
    }
    const base = s.parts[s.parts.length - 1];
    if (base === undefined) continue;
    const parent = await resolveInRoot(root, s.parts.slice(0, -1), true);
    const name = relative(root, join(parent, base));
    if (s.kind === 'whiteout') {
      pack.entry({ name, type: 'character-device', devmajor: 0, devminor: 0, mode: 0 });
    } else {
      pack.entry({ name, type: 'fifo', mode: s.mode ?? 0o644, uid: s.uid ?? 0, gid: s.gid ?? 0 });
    }
  }
  pack.finalize();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', ['-x', '--xattrs', '--xattrs-include=trusted.overlay.*', '--same-owner', '-p', '-f', '-', '-C', root], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.once('error', (err) => reject(new Error(`GNU tar is needed to write overlay whiteouts: ${err.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar could not write overlay whiteouts: ${stderr.trim()}`))));
    pack.pipe(child.stdin);
  });
}
