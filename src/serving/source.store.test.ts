import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { safePath, SourceStore } from './source.store.js';

async function tgz(entries: { name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    pack.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return gzipSync(Buffer.concat(chunks));
}

describe('SourceStore', () => {
  it('stores a snapshot by digest and keeps it immutable', async () => {
    const store = new SourceStore(mkdtempSync(join(tmpdir(), 'kumo-src-')));
    const a = await store.put(Readable.from(await tgz([{ name: 'server.js', body: 'v1' }, { name: 'lib/x.js', body: 'x' }])));
    expect(a.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(readFileSync(join(store.dirFor(a.digest), 'lib/x.js'), 'utf8')).toBe('x');
    const b = await store.put(Readable.from(await tgz([{ name: 'server.js', body: 'v2' }])));
    expect(b.digest).not.toBe(a.digest);
    expect(readFileSync(join(store.dirFor(a.digest), 'server.js'), 'utf8')).toBe('v1');
    expect(store.has(a.digest)).toBe(true);
    expect(store.has('sha256:' + '0'.repeat(64))).toBe(false);
  });

  it('never writes outside the snapshot, and skips links', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kumo-src-'));
    const store = new SourceStore(home);
    const r = await store.put(
      Readable.from(await tgz([{ name: '../escape.js', body: 'x' }, { name: '/abs.js', body: 'x' }, { name: 'link', type: 'symlink', linkname: '/etc/passwd' }, { name: 'ok.js', body: 'ok' }])),
    );
    expect(r.files).toBe(1);
    expect(() => readFileSync(join(home, 'sources', 'escape.js'))).toThrow();
    expect(() => readFileSync(join(store.dirFor(r.digest), 'link'))).toThrow();
  });

  it('refuses what is not a gzipped tar', async () => {
    const store = new SourceStore(mkdtempSync(join(tmpdir(), 'kumo-src-')));
    await expect(store.put(Readable.from(Buffer.from('hello')))).rejects.toThrow(/not a gzipped tar/);
  });

  it('maps archive names inside the root only', () => {
    expect(safePath('/r', 'a/b.js')).toBe('/r/a/b.js');
    expect(safePath('/r', './a.js')).toBe('/r/a.js');
    expect(safePath('/r', 'a/../../x')).toBeUndefined();
    expect(safePath('/r', '/etc/passwd')).toBeUndefined();
    expect(safePath('/r', '.')).toBeUndefined();
  });
});
