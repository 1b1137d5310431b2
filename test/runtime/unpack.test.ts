/**
 * Layer unpacking against untrusted layers: each breakout (after containerd's TestBreakouts list
 * in the reference notes) must leave everything outside the layer's root untouched, and OCI
 * whiteouts must come out as overlayfs reads them (checked through a real overlay mount).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { applyOverlaySpecials, unpackLayer, UnsafeLayerError } from '../../src/runtime/image/index.js';
import { makeTar } from './fixtures/tar.js';
import type { TarEntry } from './fixtures/tar.js';

const base = mkdtempSync(join(tmpdir(), 'kumo-unpack-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

let n = 0;
function sandbox(): { root: string; outside: string; victim: string } {
  const dir = join(base, `case-${++n}`);
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  const victim = join(outside, 'victim');
  writeFileSync(victim, 'original');
  return { root, outside, victim };
}

/** Everything under `dir`: names, types, sizes, link counts and contents. */
function snapshot(dir: string): string {
  const out: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    const st = lstatSync(p);
    const body = st.isFile() ? readFileSync(p, 'utf8') : st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : '';
    out.push(`${name} ${st.mode.toString(8)} ${st.nlink} ${body}`);
  }
  return out.sort().join('\n');
}

async function unpack(root: string, entries: TarEntry[]): Promise<unknown> {
  try {
    const r = await unpackLayer(Readable.from(await makeTar(entries)), root);
    await applyOverlaySpecials(root, r.specials);
    return r;
  } catch (err) {
    return err;
  }
}

describe.skipIf(!isRoot)('unpacking a malicious layer never writes outside its root', () => {
  const cases: [string, (outside: string) => TarEntry[]][] = [
    ['dot-dot in the name', () => [{ name: '../outside/victim', content: 'pwned' }]],
    ['absolute name', (o) => [{ name: `${o}/victim`, content: 'pwned' }]],
    ['symlink up and out, then a file through it', () => [{ name: 'up', type: 'symlink', linkname: '../outside' }, { name: 'up/victim', content: 'pwned' }]],
    ['absolute symlink, then a file through it', (o) => [{ name: 'abs', type: 'symlink', linkname: o }, { name: 'abs/victim', content: 'pwned' }]],
    [
      'chain of relative symlinks climbing out',
      () => [
        { name: 'a', type: 'directory' },
        { name: 'a/b', type: 'symlink', linkname: '../../../../../../..' },
        { name: 'a/c', type: 'symlink', linkname: 'b/outside' },
        { name: 'a/c/victim', content: 'pwned' },
      ],
    ],
    ['symlink parent directory', (o) => [{ name: 'p', type: 'symlink', linkname: o }, { name: 'p/new-file', content: 'pwned' }]],
    ['file over a symlink to a host file', (o) => [{ name: 'f', type: 'symlink', linkname: `${o}/victim` }, { name: 'f', content: 'pwned' }]],
    ['directory over a symlink', (o) => [{ name: 'd', type: 'symlink', linkname: o }, { name: 'd', type: 'directory' }, { name: 'd/victim', content: 'pwned' }]],
    ['hardlink with dot-dot', () => [{ name: 'h', type: 'link', linkname: '../outside/victim' }]],
    ['hardlink to an absolute path', (o) => [{ name: 'h', type: 'link', linkname: `${o}/victim` }]],
    ['hardlink through a symlinked parent', (o) => [{ name: 'l', type: 'symlink', linkname: o }, { name: 'h', type: 'link', linkname: 'l/victim' }]],
    ['hardlink to a symlink, then a write to it', (o) => [{ name: 's', type: 'symlink', linkname: `${o}/victim` }, { name: 'h', type: 'link', linkname: 's' }, { name: 'h', content: 'pwned' }]],
    ['whiteout of the parent', () => [{ name: 'x/.wh...', type: 'file' }]],
    ['bare whiteout', () => [{ name: 'x/.wh.', type: 'file' }]],
    ['whiteout through a symlinked parent', (o) => [{ name: 'w', type: 'symlink', linkname: o }, { name: 'w/.wh.victim', type: 'file' }]],
    ['whiteout with dot-dot', () => [{ name: '../outside/.wh.victim', type: 'file' }]],
    ['opaque marker through a symlink', (o) => [{ name: 'o', type: 'symlink', linkname: o }, { name: 'o/.wh..wh..opq', type: 'file' }]],
    ['symlink replacing the root', (o) => [{ name: './', type: 'symlink', linkname: o }, { name: 'victim', content: 'pwned' }]],
    ['symlink with an empty name', (o) => [{ name: '', type: 'symlink', linkname: o }, { name: 'victim', content: 'pwned' }]],
    ['device node', () => [{ name: 'dev/sda', type: 'block-device' }, { name: 'dev/mem', type: 'character-device' }]],
    ['symlink later pointed at by a whiteout', (o) => [{ name: 'late/.wh.victim', type: 'file' }, { name: 'late', type: 'symlink', linkname: o }]],
  ];

  for (const [name, entries] of cases) {
    it(name, async () => {
      const { root, outside, victim } = sandbox();
      const before = snapshot(outside);
      const outcome = await unpack(root, entries(outside));
      expect(snapshot(outside)).toBe(before);
      expect(readFileSync(victim, 'utf8')).toBe('original');
      if (outcome instanceof Error) expect(outcome).toBeInstanceOf(UnsafeLayerError);
    });
  }

  it('refuses the layer (rather than skipping) where containerd does', async () => {
    for (const entries of [
      [{ name: './', type: 'symlink' as const, linkname: '/' }],
      [{ name: 'x/.wh..', type: 'file' as const }],
      [{ name: 'h', type: 'link' as const, linkname: '../../etc/passwd' }],
      // and where Docker does: names, hardlinks and relative symlinks that climb above the root
      [{ name: '../outside/victim', type: 'file' as const, content: 'x' }],
      [{ name: '/../etc/passwd', type: 'file' as const, content: 'x' }],
      [{ name: 'a/', type: 'directory' as const }, { name: 'a/up', type: 'symlink' as const, linkname: '../../etc' }],
    ]) {
      const { root } = sandbox();
      expect(await unpack(root, entries)).toBeInstanceOf(UnsafeLayerError);
    }
  });

  it('skips device nodes and keeps everything else', async () => {
    const { root } = sandbox();
    await unpack(root, [
      { name: 'dev/sda', type: 'block-device' },
      { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
    ]);
    expect(existsSync(join(root, 'dev/sda'))).toBe(false);
    expect(statSync(join(root, 'bin/tool')).mode & 0o7777).toBe(0o4755);
  });
});

describe.skipIf(!isRoot)('layer content', () => {
  it('unpacks gzip layers, keeps modes, owners, symlinks and hardlinks, and checks the digest', async () => {
    const { root } = sandbox();
    const blob = await makeTar(
      [
        { name: 'app/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
        { name: 'app/main.js', content: 'console.log(1)', uid: 1000, gid: 1000 },
        { name: 'app/link.js', type: 'symlink', linkname: 'main.js' },
        { name: 'app/hard.js', type: 'link', linkname: 'app/main.js' },
      ],
      true,
    );
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    await unpackLayer(Readable.from(blob), root, { digest });
    expect(statSync(join(root, 'app')).mode & 0o777).toBe(0o750);
    expect(statSync(join(root, 'app/main.js')).uid).toBe(1000);
    expect(readlinkSync(join(root, 'app/link.js'))).toBe('main.js');
    expect(statSync(join(root, 'app/hard.js')).ino).toBe(statSync(join(root, 'app/main.js')).ino);

    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(unpackLayer(Readable.from(blob), sandbox().root, { digest: wrong })).rejects.toThrow(/does not match its digest/);
  });

  it('writes whiteouts and opaque directories that overlayfs honours', async () => {
    const lower = sandbox().root;
    const upper = sandbox().root;
    await unpack(lower, [
      { name: 'a/x', content: 'x' },
      { name: 'a/y', content: 'y' },
      { name: 'b/old', content: 'old' },
    ]);
    // The opaque marker comes after the layer's own file: it must still only hide the lower layer.
    await unpack(upper, [
      { name: 'a/.wh.x', type: 'file' },
      { name: 'b/new', content: 'new' },
      { name: 'b/.wh..wh..opq', type: 'file' },
    ]);
    expect(lstatSync(join(upper, 'a/x')).isCharacterDevice()).toBe(true);
    expect(lstatSync(join(upper, 'a/x')).rdev).toBe(0);
    const m = mkdtempSync(join(base, 'merged-'));
    const work = mkdtempSync(join(base, 'work-'));
    const rw = mkdtempSync(join(base, 'rw-'));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${upper}:${lower},upperdir=${rw},workdir=${work}`, m]);
    try {
      expect(readdirSync(join(m, 'a')).sort()).toEqual(['y']);
      expect(readdirSync(join(m, 'b')).sort()).toEqual(['new']);
    } finally {
      execFileSync('umount', [m]);
    }
  });
});
