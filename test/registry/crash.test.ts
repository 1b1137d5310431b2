/**
 * Crash safety through the real server: `kill -9` of `kumo server` mid-upload and mid-push, then a
 * restart on the same KUMO_HOME. No partial blob may become visible, every file under blobs/ must
 * hash to its name, SQLite must be intact, an interrupted session can resume, and a fresh push +
 * pull must give the same digests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { startKumo } from '../helpers/kumo.js';
import { run, tempDir } from './harness.js';
import { call, pushImage } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { gzipLayer, imageOf, randomImage, sha256, writeOciLayout } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { registryOf } from './server.js';

type Proc = RegistryServer;

async function kill9(p: Proc): Promise<void> {
  await p.kumo.stop('SIGKILL');
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** Every visible blob is complete: its bytes hash to its name. SQLite is intact. */
async function checkStore(home: string): Promise<void> {
  const dir = join(home, 'blobs', 'sha256');
  for (const name of readdirSync(dir)) expect(await fileDigest(join(dir, name)), name).toBe(`sha256:${name}`);
  const db = openDatabase(join(home, 'kumo.db'));
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
  } finally {
    db.close();
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const homes: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await kill9(p);
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});
/** `kumo server` on this home (a restart when the home was used before), on fresh ports. */
async function start(home: string): Promise<Proc> {
  const p = registryOf(await startKumo([], home));
  procs.push(p);
  return p;
}

describe('kill -9 during an upload', () => {
  it('leaves no partial blob visible, and the session resumes after restart', async () => {
    const home = tempDir('crash-upload');
    homes.push(home);
    const first = await start(home);
    const blob = randomBytes(48 * 1024 * 1024);
    const digest = sha256(blob);
    const startRes = await call(first, 'POST', '/v2/crash/app/blobs/uploads/');
    const location = startRes.headers.get('location') ?? '';
    const id = location.split('/').pop() ?? '';
    const uploadFile = join(home, 'uploads', id);

    // Stream the first half slowly; kill the server once bytes are landing on disk.
    const req = request(`${first.base}${location}`, { method: 'PATCH', headers: { authorization: first.auth, 'content-type': 'application/octet-stream' } });
    req.on('error', () => undefined);
    const half = blob.length / 2;
    let sent = 0;
    const pump = (): void => {
      while (sent < half) {
        const chunk = blob.subarray(sent, Math.min(half, sent + 256 * 1024));
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
    await waitFor(() => existsSync(uploadFile) && statSync(uploadFile).size > 4 * 1024 * 1024, 'upload bytes on disk');
    await kill9(first);
    req.destroy();

    expect(existsSync(join(home, 'blobs', 'sha256', digest.slice(7)))).toBe(false);
    await checkStore(home);

    const second = await start(home);
    expect((await call(second, 'HEAD', `/v2/crash/app/blobs/${digest}`)).status).toBe(404);
    const status = await call(second, 'GET', location);
    expect(status.status).toBe(204);
    const have = Number((status.headers.get('range') ?? '0-0').split('-')[1]) + 1;
    expect(have).toBe(statSync(uploadFile).size);
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(half);
    // The bytes kept are the bytes sent: resume from there, the digest must check out.
    const rest = await call(second, 'PATCH', location, { body: blob.subarray(have), headers: { 'content-range': `${have}-${blob.length - 1}` } });
    expect(rest.status).toBe(202);
    const put = await call(second, 'PUT', `${location}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect(sha256((await call(second, 'GET', `/v2/crash/app/blobs/${digest}`)).body)).toBe(digest);
    await kill9(second);
    await checkStore(home);
  });
});

describe('kill -9 during pushes', () => {
  it('a skopeo push killed mid-layer: restart, push again, pull, same digests', async () => {
    const home = tempDir('crash-skopeo');
    homes.push(home);
    const image = await randomImage(3, 24 * 1024 * 1024);
    const layout = join(home, '..', `${home.split('/').pop() ?? 'x'}-layout`);
    homes.push(layout);
    writeOciLayout(layout, image, 'v1');
    const creds = (p: Proc): string => p.creds;

    const first = await start(home);
    const push = run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds(first), `oci:${layout}:v1`, `docker://${first.host}/crash/skopeo:v1`]).then(
      () => 'finished',
      () => 'failed',
    );
    const uploads = join(home, 'uploads');
    await waitFor(() => readdirSync(uploads).some((f) => statSync(join(uploads, f)).size > 1024 * 1024), 'a layer upload in progress');
    await kill9(first);
    expect(await push).toBe('failed');
    await checkStore(home);

    const second = await start(home);
    expect((await call(second, 'GET', '/v2/crash/skopeo/manifests/v1')).status).toBe(404);
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds(second), `oci:${layout}:v1`, `docker://${second.host}/crash/skopeo:v1`]);
    const out = join(home, 'pulled');
    await run('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds(second), `docker://${second.host}/crash/skopeo:v1`, `oci:${out}:v1`]);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(image.manifest.digest);
    for (const l of image.layers) expect(await fileDigest(join(out, 'blobs', 'sha256', l.digest.slice(7)))).toBe(l.digest);
    await kill9(second);
    await checkStore(home);
  });

  it('killed during a storm of small pushes: every tag still resolves to a complete manifest', async () => {
    const home = tempDir('crash-storm');
    homes.push(home);
    const first = await start(home);
    const images: BuiltImage[] = [];
    for (let i = 0; i < 40; i++) images.push(imageOf([await gzipLayer([{ name: `f${i}`, content: randomBytes(20_000) }])]));
    let stop = false;
    const pushes = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = w; i < images.length && !stop; i += 4) {
          const img = images[i];
          if (img) await pushImage(first, `storm/w${w}`, `t${i}`, img).catch(() => undefined);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 250));
    await kill9(first);
    stop = true;
    await pushes;
    await checkStore(home);

    const second = await start(home);
    let tagged = 0;
    for (let w = 0; w < 4; w++) {
      const list = await call(second, 'GET', `/v2/storm/w${w}/tags/list`);
      if (list.status === 404) continue;
      for (const tag of list.json<{ tags: string[] }>().tags) {
        tagged++;
        const m = await call(second, 'GET', `/v2/storm/w${w}/manifests/${tag}`);
        expect(m.status).toBe(200);
        expect(sha256(m.body)).toBe(m.headers.get('docker-content-digest'));
        const doc = m.json<{ config: { digest: string }; layers: { digest: string }[] }>();
        for (const d of [doc.config.digest, ...doc.layers.map((l) => l.digest)]) {
          expect((await call(second, 'HEAD', `/v2/storm/w${w}/blobs/${d}`)).status, d).toBe(200);
        }
      }
    }
    expect(tagged).toBeGreaterThan(0);
    await kill9(second);
  });
});
