/**
 * `kumo images list|describe|delete|gc` and garbage collection through a real `kumo server`:
 * deploying by tag pins the digest on the revision, re-pushing the tag changes nothing for that
 * revision, `kumo images gc` never breaks the pinned image and collects the unpinned old one.
 * Images go in with skopeo; the pinned one comes back out with skopeo, by digest.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/kumo.js';
import { run, tempDir } from './harness.js';
import { call } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { gzipLayer, imageOf, sha256, writeOciLayout } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { deployImage, startRegistryServer } from './server.js';

let r: RegistryServer;
const dirs: string[] = [];
beforeAll(async () => {
  r = await startRegistryServer();
});
afterAll(async () => {
  await r.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `skopeo copy` an image made offline into kumo as REPO:TAG. */
async function push(image: BuiltImage, ref: string): Promise<void> {
  const layout = tempDir('images-cli');
  dirs.push(layout);
  writeOciLayout(layout, image, 'x');
  await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', r.creds, `oci:${layout}:x`, `docker://${r.localhost}/${ref}`]);
}

async function layer(): Promise<BuiltImage['layers'][number]> {
  return gzipLayer([{ name: 'data.bin', content: randomBytes(8192) }]);
}

const blobsOf = (i: BuiltImage) => [i.manifest, i.config, ...i.layers];

/** The manifest and every blob of the image pull by digest, and hash to their names. */
async function expectComplete(repo: string, image: BuiltImage): Promise<void> {
  const m = await call(r, 'GET', `/v2/${repo}/manifests/${image.manifest.digest}`);
  expect(m.status, image.manifest.digest).toBe(200);
  expect(sha256(m.body)).toBe(image.manifest.digest);
  for (const b of [image.config, ...image.layers]) {
    const res = await call(r, 'GET', `/v2/${repo}/blobs/${b.digest}`);
    expect(res.status, b.digest).toBe(200);
    expect(sha256(res.body), b.digest).toBe(b.digest);
  }
}

interface GcJson {
  manifestsDeleted: { repository: string; digest: string }[];
  blobsDeleted: number;
  bytesFreed: number;
}
const gc = (...flags: string[]): GcJson => JSON.parse(r.kumoCli(['images', 'gc', ...flags, '--format', 'json'])) as GcJson;

interface RevisionJson {
  status: { imageDigest?: string; conditions: { type: string; status: string; message?: string }[] };
}
const describeRevision = (name: string): RevisionJson => JSON.parse(r.kumoCli(['run', 'revisions', 'describe', name, '--format', 'json'])) as RevisionJson;

describe('garbage collection through kumo server', () => {
  it('re-push a tag, kumo images gc: the pinned image stays whole, the unpinned old one goes', async () => {
    const repo = 'gc/app';
    const service = uniqueName('gcsvc');
    const base = await layer();
    const v1 = imageOf([base, await layer()], { Cmd: ['v1'] });
    const v2 = imageOf([base, await layer()], { Cmd: ['v2'] });
    const v3 = imageOf([base, await layer()], { Cmd: ['v3'] });

    await push(v1, `${repo}:latest`);
    const deployed = deployImage(r, service, `${r.localhost}/${repo}:latest`);
    // The process runtime cannot start a container image and says what to do…
    expect(deployed.code).not.toBe(0);
    expect(deployed.output).toContain('install runc');
    // …but the digest was pinned when the image was resolved, before the start.
    expect(deployed.imageDigest).toBe(`${repo}@${v1.manifest.digest}`);
    expect(describeRevision(deployed.revision).status.imageDigest).toBe(`${repo}@${v1.manifest.digest}`);

    await push(v2, `${repo}:latest`);
    await push(v3, `${repo}:latest`);
    expect((await call(r, 'HEAD', `/v2/${repo}/manifests/latest`)).headers.get('docker-content-digest')).toBe(v3.manifest.digest);
    // Re-pushing the tag does not change what the revision runs.
    expect(describeRevision(deployed.revision).status.imageDigest).toBe(`${repo}@${v1.manifest.digest}`);

    // The default grace keeps what was just pushed: a push could still be assembling.
    expect(gc().manifestsDeleted).toEqual([]);
    await expectComplete(repo, v2);

    const report = gc('--grace', '0s');
    expect(report.manifestsDeleted).toEqual([{ repository: repo, digest: v2.manifest.digest }]);
    const v2Only = [v2.manifest, v2.config, v2.layers[1]].map((b) => b ?? v2.manifest);
    expect(report.blobsDeleted).toBe(v2Only.length);
    expect(report.bytesFreed).toBe(v2Only.reduce((n, b) => n + b.size, 0));
    expect((await call(r, 'GET', `/v2/${repo}/manifests/${v2.manifest.digest}`)).code).toBe('MANIFEST_UNKNOWN');
    for (const b of v2Only.slice(1)) expect((await call(r, 'HEAD', `/v2/${repo}/blobs/${b.digest}`)).status, b.digest).toBe(404);

    await expectComplete(repo, v1);
    await expectComplete(repo, v3);
    // A real client pulls the pinned image by digest, whole.
    const out = tempDir('images-cli-pull');
    dirs.push(out);
    await run('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', r.creds, `docker://${r.localhost}/${repo}@${v1.manifest.digest}`, `oci:${out}:v1`]);
    expect((JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]?.digest).toBe(v1.manifest.digest);
    for (const b of blobsOf(v1)) expect(sha256(readFileSync(join(out, 'blobs', 'sha256', b.digest.slice(7))))).toBe(b.digest);

    // The CLI says who holds it, and refuses to delete it.
    const described = r.kumoCli(['images', 'describe', repo]);
    const v1Row = described.split('\n').find((l) => l.startsWith(v1.manifest.digest.slice(0, 19)));
    expect(v1Row).toMatch(/\byes\b/);
    expect(v1Row).toContain(deployed.revision);
    const refused = r.kumo.cli(['images', 'delete', `${repo}@${v1.manifest.digest}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is pinned by a deployed revision');
    expect(refused.stderr).not.toMatch(/at .*\.js:\d+/);

    // Once nothing runs it, the old image is collectable; the shared layer stays for v3.
    r.kumoCli(['run', 'services', 'delete', service]);
    const later = gc('--grace', '0s');
    expect(later.manifestsDeleted).toEqual([{ repository: repo, digest: v1.manifest.digest }]);
    expect((await call(r, 'HEAD', `/v2/${repo}/blobs/${v1.layers[1]?.digest ?? ''}`)).status).toBe(404);
    await expectComplete(repo, v3);
  });
});

describe('kumo images list | describe | delete', () => {
  it('lists repositories, describes versions with the revisions using them, deletes by tag and digest', async () => {
    const repo = 'cli/app';
    const a = imageOf([await layer(), await layer()]);
    const b = imageOf([await layer()]);
    await push(a, `${repo}:v1`);
    await push(a, `${repo}:stable`);
    await push(b, `${repo}:v2`);
    const service = uniqueName('clisvc');
    const deployed = deployImage(r, service, `${r.localhost}/${repo}:v2`);
    expect(deployed.imageDigest).toBe(`${repo}@${b.manifest.digest}`);
    const size = (i: BuiltImage) => blobsOf(i).reduce((n, x) => n + x.size, 0);

    const list = r.kumoCli(['images', 'list']);
    expect(list.split('\n')[0]).toMatch(/^REPOSITORY\s+TAGS\s+MANIFESTS\s+SIZE\s+UPDATED\s+USED BY/);
    expect(list).toMatch(new RegExp(`^${repo}\\s+stable,v1,v2\\s+2\\s+\\S+ KiB\\s+\\S+\\s+${deployed.revision}\\s*$`, 'm'));
    const listed = (JSON.parse(r.kumoCli(['images', 'list', '--format', 'json'])) as { repository: string; sizeBytes: number; usedBy: unknown[] }[]).find((i) => i.repository === repo);
    expect(listed).toMatchObject({ sizeBytes: size(a) + size(b), usedBy: [{ service, revision: deployed.revision }] });

    const described = r.kumoCli(['images', 'describe', repo]);
    expect(described).toContain(`Repository ${repo}`);
    expect(described).toMatch(new RegExp(`^${a.manifest.digest.slice(0, 19)}\\s+image\\s+stable,v1\\s`, 'm'));
    expect(described).toMatch(new RegExp(`^${b.manifest.digest.slice(0, 19)}\\s+image\\s+v2\\s+.*\\byes\\s+${deployed.revision}\\s*$`, 'm'));
    // A full reference narrows to its version.
    const one = JSON.parse(r.kumoCli(['images', 'describe', `${r.localhost}/${repo}:v2`, '--format', 'json'])) as { versions: { digest: string; usedBy: unknown[] }[] };
    expect(one.versions).toEqual([expect.objectContaining({ digest: b.manifest.digest, usedBy: [{ service, revision: deployed.revision }] })]);

    // Untag while another tag remains: the image stays. Last tag: it goes.
    expect(r.kumoCli(['images', 'delete', `${repo}:v1`])).toBe('Untagged v1\nThe manifest stays until `kumo images gc` collects it (if nothing else names it).\n');
    await expectComplete(repo, a);
    expect(r.kumoCli(['images', 'delete', `${repo}:stable`])).toBe(`Untagged stable\nDeleted ${repo}@${a.manifest.digest}\n`);
    expect((await call(r, 'GET', `/v2/${repo}/manifests/${a.manifest.digest}`)).status).toBe(404);
    // Untagging the pinned image keeps its manifest.
    r.kumoCli(['images', 'delete', `${repo}:v2`]);
    await expectComplete(repo, b);
  });

  it('answers bad input with the field and the fix, never a stack trace', async () => {
    for (const bad of ['-1', 'soon', '1e3', String(31 * 24 * 3_600_000)]) {
      const res = await call(r, 'POST', `/api/images:gc?graceMs=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.json<{ error: { status: string; message: string } }>().error, bad).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('graceMs must be a whole number of milliseconds') as unknown });
    }
    const cases: [string[], RegExp][] = [
      // The fix names the port the server really listens on (it was started with --port 0).
      [['run', 'deploy', uniqueName('missing'), '--image', 'gcr.io/p/missing:v1'], new RegExp(`docker tag gcr.io/p/missing:v1 localhost:${r.kumo.port}/p/missing:v1 && docker push localhost:${r.kumo.port}/p/missing:v1`)],
      [['images', 'gc', '--grace', 'soon'], /--grace must be a duration/],
      [['images', 'describe', 'nothing/here'], /repository nothing\/here is not in kumo's registry; `kumo images list` shows what is/],
      [['images', 'delete', 'Bad/Name:v1'], /INVALID_ARGUMENT|invalid|must/i],
      [['images', 'delete'], /usage: kumo images delete/],
    ];
    for (const [args, message] of cases) {
      const res = r.kumo.cli(args);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.stderr, args.join(' ')).toMatch(message);
      expect(res.stderr, args.join(' ')).not.toMatch(/at .*\.js:\d+/);
    }
  });
});
