/**
 * Garbage collection and expiry over a real store, with a fake clock: re-pushing a tag and
 * collecting never breaks the image a revision is pinned to; a push in progress survives a pass;
 * abandoned uploads and files a crash left behind go once they are old enough.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/shared/clock.js';
import type { TestRegistry } from './harness.js';
import { startRegistry } from './harness.js';
import { call, pushBlob, pushImage } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { gzipLayer, imageOf, sha256 } from './oci-layout.js';

const HOUR = 3_600_000;
let clock: FakeClock;
let r: TestRegistry;
beforeEach(async () => {
  clock = new FakeClock(Date.now());
  r = await startRegistry({ clock, gcGraceMs: HOUR, uploadTtlMs: 2 * HOUR });
});
afterEach(async () => {
  await r.close();
});

const blobFile = (digest: string): string => join(r.home, 'blobs', 'sha256', digest.slice(7));

async function layer(): Promise<BuiltImage['layers'][number]> {
  return gzipLayer([{ name: 'data', content: randomBytes(4096) }]);
}

async function complete(digest: string, repo: string): Promise<void> {
  const resolved = await r.registry.resolveImage(`${repo}@${digest}`);
  for (const l of resolved.layers) {
    const res = await call(r, 'GET', `/v2/${repo}/blobs/${l.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(l.digest);
  }
  expect((await call(r, 'GET', `/v2/${repo}/manifests/${digest}`)).status).toBe(200);
}

describe('garbage collection', () => {
  it('re-push a tag, collect: the pinned revision image stays complete, the unpinned old one goes', async () => {
    const base = await layer();
    const v1 = imageOf([base, await layer()], { Cmd: ['v1'] });
    const v2 = imageOf([base, await layer()], { Cmd: ['v2'] });
    const v3 = imageOf([base, await layer()], { Cmd: ['v3'] });
    await pushImage(r, 'svc', 'latest', v1);
    // Deploying by tag records the digest on the revision.
    const deployed = await r.registry.resolveImage('localhost:8080/svc:latest');
    r.pinned.push({ repository: 'svc', digest: deployed.digest });
    await pushImage(r, 'svc', 'latest', v2);
    await pushImage(r, 'svc', 'latest', v3);
    // Re-pushing the tag does not change what the revision runs.
    expect(deployed.digest).toBe(v1.manifest.digest);
    expect((await r.registry.resolveImage('svc:latest')).digest).toBe(v3.manifest.digest);

    // Within the grace period nothing goes: a push could still be assembling.
    expect(r.registry.gc().manifestsDeleted).toEqual([]);
    clock.advance(HOUR + 1);
    const report = r.registry.gc();
    expect(report.manifestsDeleted).toEqual([{ repository: 'svc', digest: v2.manifest.digest }]);
    const v2only = [v2.manifest, v2.config, v2.layers[1]].map((b) => b?.digest ?? '');
    expect(report.blobsDeleted).toBe(3);
    expect(report.bytesFreed).toBe([v2.manifest, v2.config, v2.layers[1]].reduce((n, b) => n + (b?.size ?? 0), 0));
    for (const d of v2only) expect(existsSync(blobFile(d)), d).toBe(false);
    expect((await call(r, 'GET', `/v2/svc/manifests/${v2.manifest.digest}`)).status).toBe(404);

    await complete(v1.manifest.digest, 'svc');
    await complete(v3.manifest.digest, 'svc');
    expect(existsSync(blobFile(base.digest))).toBe(true);

    // Once the revision is gone, its image is collectable too.
    r.pinned.length = 0;
    const later = r.registry.gc();
    expect(later.manifestsDeleted).toEqual([{ repository: 'svc', digest: v1.manifest.digest }]);
    await complete(v3.manifest.digest, 'svc');
  });

  it('keeps the children of a tagged index and the referrers of a kept manifest', async () => {
    const child = imageOf([await layer()]);
    await pushImage(r, 'keep', 'child-tmp', child);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: child.manifest.mediaType, digest: child.manifest.digest, size: child.manifest.size, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    expect((await call(r, 'PUT', '/v2/keep/manifests/v1', { body: index, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } })).status).toBe(201);
    const empty = await pushBlob(r, 'keep', Buffer.from('{}'));
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.sig',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [],
        subject: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length },
      }),
    );
    expect((await call(r, 'PUT', `/v2/keep/manifests/${sha256(sig)}`, { body: sig, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(201);
    await call(r, 'DELETE', '/v2/keep/manifests/child-tmp');
    clock.advance(2 * HOUR);
    const report = r.registry.gc();
    expect(report.manifestsDeleted).toEqual([]);
    expect(report.blobsDeleted).toBe(0);
    await complete(child.manifest.digest, 'keep');
    expect((await call(r, 'GET', `/v2/keep/referrers/${sha256(index)}`)).json<{ manifests: unknown[] }>().manifests).toHaveLength(1);
  });

  it('never takes the blobs of a push in progress: fresh or just-checked blobs survive, abandoned ones go', async () => {
    const early = await pushBlob(r, 'inflight', randomBytes(100));
    clock.advance(HOUR - 1000);
    const late = await pushBlob(r, 'inflight', randomBytes(100));
    // A pusher checks the early blob (HEAD) before reusing it: that renews it.
    expect((await call(r, 'HEAD', `/v2/inflight/blobs/${early}`)).status).toBe(200);
    clock.advance(2000);
    expect(r.registry.gc().blobsDeleted).toBe(0);
    expect(existsSync(blobFile(early)) && existsSync(blobFile(late))).toBe(true);
    clock.advance(HOUR + 1);
    expect(r.registry.gc({ graceMs: HOUR }).blobsDeleted).toBe(2);
    expect((await call(r, 'HEAD', `/v2/inflight/blobs/${early}`)).status).toBe(404);
    expect(existsSync(blobFile(early))).toBe(false);
  });

  it('removes blob files no row knows once they are older than the grace period', async () => {
    const bytes = randomBytes(64);
    const orphan = blobFile(sha256(bytes));
    writeFileSync(orphan, bytes);
    expect(r.registry.gc().blobsDeleted).toBe(0);
    const old = (clock.now() - 2 * HOUR) / 1000;
    utimesSync(orphan, old, old);
    const report = r.registry.gc();
    expect(report.blobsDeleted).toBe(1);
    expect(report.bytesFreed).toBe(64);
    expect(existsSync(orphan)).toBe(false);
  });

  it('runs in the background on the configured interval', async () => {
    const bg = await startRegistry({ clock, gcIntervalMs: 10 * 60_000, gcGraceMs: HOUR });
    try {
      const d = await pushBlob(bg, 'bg', randomBytes(10));
      clock.advance(HOUR + 10 * 60_000);
      expect((await call(bg, 'HEAD', `/v2/bg/blobs/${d}`)).status).toBe(404);
    } finally {
      await bg.close();
    }
  });
});

describe('upload expiry', () => {
  it('expires sessions untouched for the TTL, with their files; keeps recent ones', async () => {
    const stale = await call(r, 'POST', '/v2/exp/blobs/uploads/');
    const staleLoc = stale.headers.get('location') ?? '';
    await call(r, 'PATCH', staleLoc, { body: 'some bytes' });
    clock.advance(HOUR);
    const fresh = await call(r, 'POST', '/v2/exp/blobs/uploads/');
    clock.advance(HOUR + 1);
    expect(r.registry.gc().uploadsExpired).toBe(1);
    expect((await call(r, 'GET', staleLoc)).code).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await call(r, 'GET', fresh.headers.get('location') ?? '')).status).toBe(204);
    expect(readdirSync(join(r.home, 'uploads'))).toEqual([(fresh.headers.get('location') ?? '').split('/').pop()]);
  });
});
