/**
 * Images through a real `kumo server --runtime runc`: a tag re-pushed while an old revision keeps
 * serving its pinned digest; Cloud Run export names (`gcr.io/…`, `…-docker.pkg.dev/…`) resolving
 * to the same path in kumo's registry, and the exact commands when the image is missing; hostile
 * layers refused at deploy with a clear error, with nothing written outside the image's root.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../src/serving/revision.types.js';
import { call, instances, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import type { TarEntry } from '../runtime/fixtures/tar.js';
import { containerApp } from './app.js';
import { appWithLayer, cliAsync, deployImage, finishRunc, NOTHING_LEFT, pushImage, pushNodeApp, runcServerSkipReason, startRuncKumo } from './harness.js';

const skip = await runcServerSkipReason();
if (skip) console.log(`container image tests on runc skipped: ${skip}`);

const versionOf = async (k: KumoServer, host: string) => (JSON.parse((await call(k, host, '/')).body) as { version: string }).version;
const revisionOf = (k: KumoServer, service: string) =>
  (JSON.parse(k.cli(['run', 'services', 'describe', service, '--format', 'json']).stdout) as { status: { latestReadyRevisionName: string } }).status.latestReadyRevisionName;

describe.skipIf(Boolean(skip))('images on the runc runtime', () => {
  let k: KumoServer & { cidr: string };
  beforeAll(async () => {
    k = await startRuncKumo();
  });
  afterAll(async () => {
    if (!k) return;
    // A clean stop leaves nothing of any instance behind.
    expect(await finishRunc(k)).toEqual(NOTHING_LEFT);
  });

  it('keeps an old revision on its pinned image while the tag is re-pushed', async () => {
    const ref = (await pushNodeApp(k, 'repush/app:live', containerApp('v1'))).ref;
    deployImage(k, 'keeper', ref);
    const first = revisionOf(k, 'keeper');
    expect(await versionOf(k, 'keeper.localhost')).toBe('v1');

    await pushNodeApp(k, 'repush/app:live', containerApp('v2'));
    expect(await versionOf(k, 'keeper.localhost')).toBe('v1');
    // Even from zero, the old revision starts its pinned digest, not what the tag names now.
    await waitFor('keeper at zero', () => instances(k, 'keeper'), (l) => l.length === 0, 20_000);
    expect(await versionOf(k, 'keeper.localhost')).toBe('v1');

    // A new deploy of the same reference resolves the tag again: v2, beside v1.
    const out = deployImage(k, 'keeper', ref, ['--no-traffic', '--tag', 'next']);
    expect(out).toContain('next---keeper');
    expect(await versionOf(k, 'next---keeper.localhost')).toBe('v2');
    expect(await versionOf(k, 'keeper.localhost')).toBe('v1');
    const [a, b] = [first, revisionOf(k, 'keeper')].map((n) => JSON.parse(k.cli(['run', 'revisions', 'describe', n, '--format', 'json']).stdout) as Revision);
    expect(a?.status.imageDigest).not.toBe(b?.status.imageDigest);
    expect(a?.status.imageDigest).toMatch(/^repush\/app@sha256:/);
  });

  it('runs gcr.io and pkg.dev names (as in a Cloud Run export) from the same path in kumo\'s registry', async () => {
    await pushNodeApp(k, 'kumo-project/exported:v1');
    deployImage(k, 'exported', 'gcr.io/kumo-project/exported:v1');
    expect(await versionOf(k, 'exported.localhost')).toBe('v1');
    const rev = JSON.parse(k.cli(['run', 'revisions', 'describe', revisionOf(k, 'exported'), '--format', 'json']).stdout) as Revision;
    expect(rev.status.imageDigest).toMatch(/^kumo-project\/exported@sha256:[a-f0-9]{64}$/);

    await pushNodeApp(k, 'kumo-project/cloud-run-source-deploy/artifact:v1');
    deployImage(k, 'artifact', 'us-central1-docker.pkg.dev/kumo-project/cloud-run-source-deploy/artifact:v1');
    expect(await versionOf(k, 'artifact.localhost')).toBe('v1');
  });

  it('fails a deploy of a missing image with the exact docker tag / docker push commands', async () => {
    const missing = k.cli(['run', 'deploy', 'ghost', '--image', 'gcr.io/kumo-project/ghost:v3', '--allow-unauthenticated']);
    expect(missing.code).not.toBe(0);
    const target = `localhost:${k.port}/kumo-project/ghost:v3`;
    expect(missing.stderr).toContain(`docker tag gcr.io/kumo-project/ghost:v3 ${target} && docker push ${target}`);
    const elsewhere = k.cli(['run', 'deploy', 'ghost', '--image', 'quay.io/team/tool:1.0', '--allow-unauthenticated']);
    expect(elsewhere.code).not.toBe(0);
    const there = `localhost:${k.port}/team/tool:1.0`;
    expect(elsewhere.stderr).toContain(`docker tag quay.io/team/tool:1.0 ${there} && docker push ${there}`);
  });

  describe('hostile layers', () => {
    const victimDir = mkdtempSync(join(tmpdir(), 'kumo-victim-'));
    const victim = join(victimDir, 'victim');
    writeFileSync(victim, 'original');
    const up = '../'.repeat(12) + victimDir.slice(1);
    afterAll(() => rmSync(victimDir, { recursive: true, force: true }));

    const snapshot = () =>
      (readdirSync(victimDir, { recursive: true }) as string[])
        .map((n) => `${n} ${lstatSync(join(victimDir, n)).nlink} ${readFileSync(join(victimDir, n), 'utf8')}`)
        .sort()
        .join('\n');

    // Each refused: the deploy fails, naming the entry and why.
    const refused: [string, TarEntry[], RegExp][] = [
      ['dot-dot in the name', [{ name: `${up}/victim`, content: 'pwned' }], /climbs out of the image's root/],
      ['dot-dot in a whiteout', [{ name: `${up}/.wh.victim`, content: '' }], /climbs out of the image's root/],
      ['a symlink up and out, then a file through it', [{ name: 'out', type: 'symlink', linkname: up }, { name: 'out/victim', content: 'pwned' }], /symlink "out" .* points outside the image's root/],
      [
        'a chain of relative symlinks climbing out',
        [{ name: 'a/', type: 'directory' }, { name: 'a/b', type: 'symlink', linkname: '../../../../../../..' }, { name: 'a/c', type: 'symlink', linkname: `b${victimDir}` }, { name: 'a/c/victim', content: 'pwned' }],
        /symlink "a\/b" .* points outside the image's root/,
      ],
      ['a hardlink with dot-dot', [{ name: 'h', type: 'link', linkname: `${up}/victim` }], /hardlink "h" .* points outside the image's root/],
      ['a hardlink to an absolute host path', [{ name: 'h', type: 'link', linkname: victim }], /entry "h" \(link\) could not be unpacked: ENOENT/],
      ['a hardlink through a symlinked parent', [{ name: 'l', type: 'symlink', linkname: victimDir }, { name: 'h', type: 'link', linkname: 'l/victim' }], /entry "h" \(link\) could not be unpacked: ENOENT/],
      ['a symlink replacing the root', [{ name: './', type: 'symlink', linkname: victimDir }, { name: 'victim', content: 'pwned' }], /would replace the root directory/],
      ['a whiteout of the parent', [{ name: 'x/.wh..', content: '' }], /names no file/],
      ['a hardlink to a directory', [{ name: 'd/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'd' }], /points at a directory/],
    ];

    // Each read as the image's own paths (as Docker and containerd do): contained, and the app runs.
    const contained: TarEntry[] = [
      { name: `${victimDir}/victim`, content: 'pwned by an absolute name' },
      { name: 'abs', type: 'symlink', linkname: victimDir },
      { name: 'abs/new-file', content: 'pwned through an absolute symlink' },
      { name: 'f', type: 'symlink', linkname: victim },
      { name: 'f', content: 'a file over a symlink to a host file' },
      { name: 'w', type: 'symlink', linkname: victimDir },
      { name: 'w/.wh.gone', content: '' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/sda', type: 'block-device' },
      { name: 'dev/mem', type: 'character-device' },
    ];

    it('refuses each breakout at deploy with a clear error and writes nothing outside', async () => {
      const before = snapshot();
      const cases = await Promise.all(
        refused.map(async ([what, entries], i) => {
          const ref = await pushImage(k, await appWithLayer(entries), `hostile/case${i}:v1`);
          return { what, ref, result: await cliAsync(k, ['run', 'deploy', `hostile-${i}`, '--image', ref, '--allow-unauthenticated']) };
        }),
      );
      for (const [i, c] of cases.entries()) {
        expect(c.result.code, `${c.what}: ${c.result.out}`).not.toBe(0);
        expect(c.result.out, c.what).toMatch(/layer sha256:[a-f0-9]{64} is refused as unsafe: /);
        expect(c.result.out, c.what).toMatch(refused[i]?.[2] ?? /never/);
      }
      expect(snapshot()).toBe(before);
      expect(readFileSync(victim, 'utf8')).toBe('original');
      // No half-unpacked layer is left in kumo's cache.
      expect(readdirSync(join(k.home, 'layers', 'sha256')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    });

    it('refuses one layer that tries every breakout, after the harmless ones', async () => {
      const before = snapshot();
      const all = [...contained, ...refused.flatMap(([, e]) => e)];
      const ref = await pushImage(k, await appWithLayer(all), 'hostile/everything:v1');
      const r = await cliAsync(k, ['run', 'deploy', 'hostile-all', '--image', ref, '--allow-unauthenticated']);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/is refused as unsafe: entry ".*" climbs out of the image's root/);
      expect(snapshot()).toBe(before);
    });

    it('keeps absolute names and symlinks inside the image: the app sees them, the host does not', async () => {
      const before = snapshot();
      const ref = await pushImage(k, await appWithLayer(contained), 'hostile/contained:v1');
      deployImage(k, 'contained', ref);
      const read = async (path: string) => JSON.parse((await call(k, 'contained.localhost', `/read?path=${encodeURIComponent(path)}`)).body) as { content?: string; error?: string };
      expect(await read(victim)).toEqual({ content: 'pwned by an absolute name' });
      expect(await read(join(victimDir, 'new-file'))).toEqual({ content: 'pwned through an absolute symlink' });
      expect(await read('/f')).toEqual({ content: 'a file over a symlink to a host file' });
      expect(snapshot()).toBe(before);
      expect(readFileSync(victim, 'utf8')).toBe('original');
      // Device nodes from the layer are skipped: none is in the unpacked layer.
      const layers = readdirSync(join(k.home, 'layers', 'sha256'));
      for (const l of layers) expect(() => lstatSync(join(k.home, 'layers', 'sha256', l, 'dev', 'sda'))).toThrow();
    });
  });
});
