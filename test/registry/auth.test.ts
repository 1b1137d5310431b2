/**
 * Access control, GCR's way, on a real `kumo server`'s front door: Basic with `oauth2accesstoken` +
 * a kumo access token, Bearer, the `WWW-Authenticate` challenge and token endpoint Docker's clients
 * use; anonymous pull off unless the server runs with `--anonymous-pull`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken } from '../../src/auth/tokens.js';
import { run, tempDir } from './harness.js';
import { basic, call, pushImage } from './http-client.js';
import { gzipLayer, imageOf, writeOciLayout } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { startRegistryServer } from './server.js';

let r: RegistryServer;
beforeAll(async () => {
  r = await startRegistryServer();
});
afterAll(async () => {
  await r.close();
});

describe('registry access', () => {
  it('challenges anonymous requests with a Bearer realm, service and scope', async () => {
    const base = await call(r, 'GET', '/v2/', { auth: false });
    expect(base.status).toBe(401);
    expect(base.code).toBe('UNAUTHORIZED');
    expect(base.headers.get('www-authenticate')).toBe(`Bearer realm="${r.base}/v2/token",service="kumo-registry"`);
    expect(base.text).toContain('docker login');
    const pull = await call(r, 'GET', '/v2/some/repo/manifests/v1', { auth: false });
    expect(pull.status).toBe(401);
    expect(pull.headers.get('www-authenticate')).toContain('scope="repository:some/repo:pull"');
    const push = await call(r, 'POST', '/v2/some/repo/blobs/uploads/', { auth: false });
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:some/repo:pull,push"');
    const head = await call(r, 'HEAD', '/v2/some/repo/manifests/v1', { auth: false });
    expect(head.status).toBe(401);
    expect(head.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('accepts a Bearer access token and Basic oauth2accesstoken:<token>', async () => {
    const bearer = await call(r, 'GET', '/v2/');
    expect(bearer.status).toBe(200);
    expect(bearer.json()).toEqual({});
    expect(bearer.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect((await call(r, 'GET', '/v2/', { auth: basic('oauth2accesstoken', r.token) })).status).toBe(200);
  });

  it('refuses another username, a garbage token, an expired token and one signed by another key', async () => {
    const otherDir = tempDir('otherkeys');
    const other = loadOrCreateKeys(otherDir);
    rmSync(otherDir, { recursive: true, force: true });
    const cases: [string, string][] = [
      ['username', basic('admin', r.token)],
      ['garbage', 'Bearer not-a-jwt'],
      ['expired', `Bearer ${mintToken(r.keys(), { sub: 'x', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now() - 7_200_000, ttlSec: 60 })}`],
      ['foreign key', `Bearer ${mintToken(other, { sub: 'x', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now(), ttlSec: 60 })}`],
      ['identity token', `Bearer ${mintToken(r.keys(), { sub: 'x', aud: 'http://svc.localhost:8080', typ: 'identity', nowMs: Date.now(), ttlSec: 60 })}`],
    ];
    for (const [what, auth] of cases) {
      const res = await call(r, 'GET', '/v2/', { auth });
      expect(res.status, what).toBe(401);
      expect(res.code, what).toBe('UNAUTHORIZED');
      expect(res.headers.get('www-authenticate'), what).toMatch(/^Bearer realm=/);
    }
    expect((await call(r, 'GET', '/v2/', { auth: basic('admin', r.token) })).text).toContain('oauth2accesstoken');
  });

  it('the token endpoint trades Basic credentials for a token (GET) and serves the OAuth2 password grant (POST)', async () => {
    const get = await call(r, 'GET', '/v2/token?service=kumo-registry&scope=repository:a/b:pull,push', { auth: basic('oauth2accesstoken', r.token) });
    expect(get.status).toBe(200);
    const body = get.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
    expect(body.token).toBe(r.token);
    expect(body.access_token).toBe(r.token);
    expect(body.expires_in).toBeGreaterThan(3000);
    expect((await call(r, 'GET', '/v2/', { auth: `Bearer ${body.token}` })).status).toBe(200);

    const form = new URLSearchParams({ grant_type: 'password', username: 'oauth2accesstoken', password: r.token, service: 'kumo-registry' });
    const post = await call(r, 'POST', '/v2/token', { auth: false, body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(post.status).toBe(200);
    expect(post.json<{ access_token: string }>().access_token).toBe(r.token);

    expect((await call(r, 'GET', '/v2/token', { auth: false })).status).toBe(401);
    expect((await call(r, 'GET', '/v2/token', { auth: basic('oauth2accesstoken', 'nope') })).status).toBe(401);
  });
});

describe('anonymous pull', () => {
  it('when configured, lets pulls through without credentials and still guards pushes', async () => {
    const open = await startRegistryServer(['--anonymous-pull']);
    const work = tempDir('anon');
    try {
      const image = imageOf([await gzipLayer([{ name: 'x', content: Buffer.from('x') }])]);
      await pushImage(open, 'anon/app', 'v1', image);
      const get = await call(open, 'GET', '/v2/anon/app/manifests/v1', { auth: false });
      expect(get.status).toBe(200);
      expect((await call(open, 'GET', `/v2/anon/app/blobs/${image.config.digest}`, { auth: false })).status).toBe(200);
      const push = await call(open, 'POST', '/v2/anon/app/blobs/uploads/', { auth: false });
      expect(push.status).toBe(401);
      const del = await call(open, 'DELETE', '/v2/anon/app/manifests/v1', { auth: false });
      expect(del.status).toBe(401);

      // /v2/ still challenges (clients decide there whether to send their credentials); the token
      // endpoint hands anonymous clients a pull-only token.
      expect((await call(open, 'GET', '/v2/', { auth: false })).status).toBe(401);
      const anon = (await call(open, 'GET', '/v2/token?scope=repository:anon/app:pull', { auth: false })).json<{ token: string }>().token;
      expect((await call(open, 'GET', '/v2/', { auth: `Bearer ${anon}` })).status).toBe(200);
      expect((await call(open, 'GET', '/v2/anon/app/manifests/v1', { auth: `Bearer ${anon}` })).status).toBe(200);
      expect((await call(open, 'POST', '/v2/anon/app/blobs/uploads/', { auth: `Bearer ${anon}` })).status).toBe(401);

      // Real clients: skopeo pushes with credentials and pulls without.
      const layout = join(work, 'layout');
      writeOciLayout(layout, image, 'v1');
      await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${open.token}`, `oci:${layout}:v1`, `docker://${open.host}/anon/skopeo:v1`]);
      await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${open.host}/anon/skopeo:v1`, `oci:${join(work, 'out')}:v1`]);
      const denied = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${open.host}/anon/denied:v1`]).then(
        () => undefined,
        (e: unknown) => e as { stderr: string },
      );
      expect(denied?.stderr).toMatch(/authentication required/);
    } finally {
      await open.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
