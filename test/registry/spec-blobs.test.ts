/**
 * Distribution spec v1.1, blob side: every push flow (POST+PUT, single POST, chunked PATCH with the
 * 416 rule, stream PATCH, status, cancel, mount), blob pull with ranges, blob delete, and the error
 * codes each can return. Raw HTTP against a real `kumo server` (its front door), SQLite file and
 * blob store.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, pushBlob } from './http-client.js';
import { sha256 } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { startRegistryServer } from './server.js';

let r: RegistryServer;
beforeAll(async () => {
  r = await startRegistryServer();
});
afterAll(async () => {
  await r.close();
});

const blobFile = (digest: string): string => join(r.home, 'blobs', 'sha256', digest.slice(7));

describe('push: POST then PUT (monolithic)', () => {
  it('opens a session with Location, Range and an upload id, then stores the blob by digest', async () => {
    const bytes = randomBytes(70_000);
    const digest = sha256(bytes);
    const start = await call(r, 'POST', '/v2/mono/app/blobs/uploads/');
    expect(start.status).toBe(202);
    const location = start.headers.get('location') ?? '';
    expect(location).toMatch(/^\/v2\/mono\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.get('range')).toBe('0-0');
    expect(start.headers.get('docker-upload-uuid')).toBe(location.split('/').pop());
    expect(start.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

    const put = await call(r, 'PUT', `${location}?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/mono/app/blobs/${digest}`);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    const head = await call(r, 'HEAD', `/v2/mono/app/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect(head.body.length).toBe(0);
    const get = await call(r, 'GET', `/v2/mono/app/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.body.equals(bytes)).toBe(true);
    expect(existsSync(blobFile(digest))).toBe(true);
  });

  it('refuses a PUT whose bytes do not match the digest: DIGEST_INVALID, and nothing becomes visible', async () => {
    const bytes = randomBytes(1000);
    const claimed = sha256(randomBytes(10));
    const start = await call(r, 'POST', '/v2/mono/app/blobs/uploads/');
    const put = await call(r, 'PUT', `${start.headers.get('location')}?digest=${claimed}`, { body: bytes });
    expect(put.status).toBe(400);
    expect(put.code).toBe('DIGEST_INVALID');
    expect((await call(r, 'HEAD', `/v2/mono/app/blobs/${claimed}`)).status).toBe(404);
    expect((await call(r, 'HEAD', `/v2/mono/app/blobs/${sha256(bytes)}`)).status).toBe(404);
    expect(existsSync(blobFile(claimed))).toBe(false);
    expect(existsSync(blobFile(sha256(bytes)))).toBe(false);
  });

  it('needs ?digest= on the closing PUT and accepts sha256 only', async () => {
    const start = await call(r, 'POST', '/v2/mono/app/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    const none = await call(r, 'PUT', location, { body: 'x' });
    expect(none.status).toBe(400);
    expect(none.code).toBe('DIGEST_INVALID');
    const sha512 = await call(r, 'PUT', `${location}?digest=sha512:${'ab'.repeat(64)}`, { body: 'x' });
    expect(sha512.status).toBe(400);
    expect(sha512.code).toBe('DIGEST_INVALID');
    const junk = await call(r, 'PUT', `${location}?digest=sha256:XYZ`, { body: 'x' });
    expect(junk.code).toBe('DIGEST_INVALID');
  });
});

describe('push: single POST with ?digest=', () => {
  it('stores the body as the whole blob and answers 201', async () => {
    const bytes = randomBytes(5000);
    const digest = sha256(bytes);
    const post = await call(r, 'POST', `/v2/single/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(post.status).toBe(201);
    expect(post.headers.get('location')).toBe(`/v2/single/blobs/${digest}`);
    expect((await call(r, 'GET', `/v2/single/blobs/${digest}`)).body.equals(bytes)).toBe(true);
  });

  it('refuses a body that does not match', async () => {
    const post = await call(r, 'POST', `/v2/single/blobs/uploads/?digest=${sha256(Buffer.from('a'))}`, { body: 'b' });
    expect(post.status).toBe(400);
    expect(post.code).toBe('DIGEST_INVALID');
  });
});

describe('push: chunked PATCH', () => {
  it('appends chunks in order, answers 416 for an out-of-order chunk, reports status, closes with a final chunk', async () => {
    const bytes = randomBytes(300);
    const digest = sha256(bytes);
    const start = await call(r, 'POST', '/v2/chunked/blobs/uploads/', { headers: { 'content-length': '0' } });
    let location = start.headers.get('location') ?? '';

    const p1 = await call(r, 'PATCH', location, { body: bytes.subarray(0, 100), headers: { 'content-range': '0-99', 'content-type': 'application/octet-stream' } });
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-99');
    location = p1.headers.get('location') ?? '';

    const skip = await call(r, 'PATCH', location, { body: bytes.subarray(200, 300), headers: { 'content-range': '200-299' } });
    expect(skip.status).toBe(416);
    expect(skip.code).toBe('BLOB_UPLOAD_INVALID');
    expect(skip.headers.get('range')).toBe('0-99');

    const again = await call(r, 'PATCH', location, { body: bytes.subarray(0, 100), headers: { 'content-range': '0-99' } });
    expect(again.status).toBe(416);

    const status = await call(r, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99');
    expect(status.headers.get('location')).toBe(location);

    const p2 = await call(r, 'PATCH', location, { body: bytes.subarray(100, 200), headers: { 'content-range': '100-199' } });
    expect(p2.headers.get('range')).toBe('0-199');

    const put = await call(r, 'PUT', `${location}?digest=${digest}`, { body: bytes.subarray(200), headers: { 'content-range': '200-299' } });
    expect(put.status).toBe(201);
    expect((await call(r, 'GET', `/v2/chunked/blobs/${digest}`)).body.equals(bytes)).toBe(true);
  });

  it('refuses a Content-Range that disagrees with the body length, and a malformed one', async () => {
    const start = await call(r, 'POST', '/v2/chunked/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    const wrong = await call(r, 'PATCH', location, { body: 'abc', headers: { 'content-range': '0-9' } });
    expect(wrong.status).toBe(416);
    const bad = await call(r, 'PATCH', location, { body: 'abc', headers: { 'content-range': 'three bytes' } });
    expect(bad.status).toBe(416);
    expect(bad.code).toBe('BLOB_UPLOAD_INVALID');
  });

  it('accepts a stream PATCH without Content-Range (what docker and skopeo send), then an empty PUT', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const digest = sha256(bytes);
    const start = await call(r, 'POST', '/v2/stream/blobs/uploads/');
    const patch = await call(r, 'PATCH', start.headers.get('location') ?? '', { body: bytes });
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${bytes.length - 1}`);
    const put = await call(r, 'PUT', `${patch.headers.get('location')}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect(sha256((await call(r, 'GET', `/v2/stream/blobs/${digest}`)).body)).toBe(digest);
  });
});

describe('push: cancel and unknown sessions', () => {
  it('DELETE cancels a session (204) and removes its file; later use is BLOB_UPLOAD_UNKNOWN', async () => {
    const start = await call(r, 'POST', '/v2/cancel/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    const id = location.split('/').pop() ?? '';
    await call(r, 'PATCH', location, { body: 'partial' });
    expect(readdirSync(join(r.home, 'uploads'))).toContain(id);
    const del = await call(r, 'DELETE', location);
    expect(del.status).toBe(204);
    expect(readdirSync(join(r.home, 'uploads'))).not.toContain(id);
    for (const [method, body] of [['GET', undefined], ['PATCH', 'x'], ['PUT', undefined], ['DELETE', undefined]] as const) {
      const res = await call(r, method, method === 'PUT' ? `${location}?digest=${sha256(Buffer.from(''))}` : location, body ? { body } : {});
      expect(res.status, method).toBe(404);
      expect(res.code, method).toBe('BLOB_UPLOAD_UNKNOWN');
    }
  });

  it('a session belongs to its repository', async () => {
    const start = await call(r, 'POST', '/v2/owner/blobs/uploads/');
    const id = (start.headers.get('location') ?? '').split('/').pop() ?? '';
    const other = await call(r, 'GET', `/v2/intruder/blobs/uploads/${id}`);
    expect(other.code).toBe('BLOB_UPLOAD_UNKNOWN');
    const junk = await call(r, 'GET', '/v2/owner/blobs/uploads/not-a-session');
    expect(junk.code).toBe('BLOB_UPLOAD_UNKNOWN');
  });
});

describe('push: cross-repository mount', () => {
  it('mounts a known blob (201, Location, Docker-Content-Digest) and opens a session for an unknown one (202)', async () => {
    const digest = await pushBlob(r, 'mount/source', randomBytes(2048));
    expect((await call(r, 'HEAD', `/v2/mount/target/blobs/${digest}`)).status).toBe(404);
    const mount = await call(r, 'POST', `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`);
    expect(mount.status).toBe(201);
    expect(mount.headers.get('location')).toBe(`/v2/mount/target/blobs/${digest}`);
    expect(mount.headers.get('docker-content-digest')).toBe(digest);
    expect((await call(r, 'HEAD', `/v2/mount/target/blobs/${digest}`)).status).toBe(200);

    const unknown = sha256(randomBytes(8));
    const fallback = await call(r, 'POST', `/v2/mount/target/blobs/uploads/?mount=${unknown}&from=mount/source`);
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('location')).toMatch(/\/blobs\/uploads\//);
  });
});

describe('pull: blobs', () => {
  const bytes = Buffer.from('0123456789abcdefghij');
  let digest: string;
  beforeAll(async () => {
    digest = await pushBlob(r, 'ranges', bytes);
  });

  it('serves byte ranges with 206 and Content-Range', async () => {
    const cases: [string, string, string][] = [
      ['bytes=0-4', '01234', 'bytes 0-4/20'],
      ['bytes=15-', 'fghij', 'bytes 15-19/20'],
      ['bytes=-3', 'hij', 'bytes 17-19/20'],
      ['bytes=18-100', 'ij', 'bytes 18-19/20'],
    ];
    for (const [range, body, contentRange] of cases) {
      const res = await call(r, 'GET', `/v2/ranges/blobs/${digest}`, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.text, range).toBe(body);
      expect(res.headers.get('content-range'), range).toBe(contentRange);
    }
  });

  it('answers 416 for ranges that cannot be satisfied', async () => {
    for (const range of ['bytes=500-0', 'bytes=20-', 'bytes=25-30', 'bytes=5-2']) {
      const res = await call(r, 'GET', `/v2/ranges/blobs/${digest}`, { headers: { range } });
      expect(res.status, range).toBe(416);
    }
  });

  it('BLOB_UNKNOWN for a blob the repository does not hold; DIGEST_INVALID for a malformed digest', async () => {
    const missing = await call(r, 'GET', `/v2/ranges/blobs/${sha256(Buffer.from('nope'))}`);
    expect(missing.status).toBe(404);
    expect(missing.code).toBe('BLOB_UNKNOWN');
    expect((await call(r, 'GET', `/v2/elsewhere/blobs/${digest}`)).code).toBe('BLOB_UNKNOWN');
    const bad = await call(r, 'GET', '/v2/ranges/blobs/sha256:XYZ');
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('DIGEST_INVALID');
  });
});

describe('content management: blobs', () => {
  it('DELETE unlinks a blob from the repository (202), then 404 BLOB_UNKNOWN', async () => {
    const digest = await pushBlob(r, 'deleting', randomBytes(100));
    const del = await call(r, 'DELETE', `/v2/deleting/blobs/${digest}`);
    expect(del.status).toBe(202);
    expect((await call(r, 'HEAD', `/v2/deleting/blobs/${digest}`)).status).toBe(404);
    const again = await call(r, 'DELETE', `/v2/deleting/blobs/${digest}`);
    expect(again.status).toBe(404);
    expect(again.code).toBe('BLOB_UNKNOWN');
  });
});
