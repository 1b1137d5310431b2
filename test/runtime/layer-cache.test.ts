/** The layer cache: one unpack per digest, shared, atomic, verified. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/runtime/image/index.js';
import { KumoError } from '../../src/shared/errors.js';
import { OciLayout } from './fixtures/oci-layout.js';
import { makeTar } from './fixtures/tar.js';

const base = mkdtempSync(join(tmpdir(), 'kumo-layer-cache-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe.skipIf(process.getuid?.() !== 0)('LayerCache', () => {
  it('unpacks a layer once, even when two caches ask for it at the same time', async () => {
    const layout = new OciLayout(join(base, 'layout-1'));
    const { digest } = layout.putBlob(await makeTar([{ name: 'etc/motd', content: 'hi' }], true));
    const dir = join(base, 'layers-1');
    const a = new LayerCache({ dir, source: layout });
    const b = new LayerCache({ dir, source: layout });
    const [da, db, da2] = await Promise.all([a.ensure(digest), b.ensure(digest), a.ensure(digest)]);
    expect(da).toBe(db);
    expect(da2).toBe(da);
    expect(readFileSync(join(da, 'etc/motd'), 'utf8')).toBe('hi');
    expect(readdirSync(join(dir, 'sha256'))).toEqual([digest.slice('sha256:'.length)]);
    expect(a.prune(new Set([digest]))).toEqual([]);
    expect(a.prune(new Set())).toEqual([digest]);
    expect(existsSync(da)).toBe(false);
  });

  it('refuses a blob that does not match its digest and leaves nothing behind', async () => {
    const layout = new OciLayout(join(base, 'layout-2'));
    const { digest } = layout.putBlob(await makeTar([{ name: 'a', content: 'a' }]));
    writeFileSync(layout.blobPath(digest), await makeTar([{ name: 'a', content: 'tampered' }]));
    const dir = join(base, 'layers-2');
    const cache = new LayerCache({ dir, source: layout });
    const err = await cache.ensure(digest, 'localhost:8080/x:v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KumoError);
    expect((err as KumoError).code).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toMatch(/image localhost:8080\/x:v1: layer sha256:.* is refused as unsafe: layer content does not match its digest/);
    expect(readdirSync(join(dir, 'sha256'))).toEqual([]);
  });

  it('rejects a digest that is not one', () => {
    const cache = new LayerCache({ dir: join(base, 'layers-3'), source: new OciLayout(join(base, 'layout-3')) });
    expect(() => cache.relativePath('sha256:../../etc')).toThrow(/not a valid layer digest/);
  });
});
