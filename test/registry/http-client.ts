/** A small raw-HTTP client for the spec suite: every request and answer is visible to the test. */
import type { BuiltBlob, BuiltImage } from './oci-layout.js';
import { sha256 } from './oci-layout.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  /** `errors[0].code` of a JSON error envelope. */
  code: string | undefined;
  json<T = unknown>(): T;
}

export interface Target {
  base: string;
  auth: string;
}

export async function call(
  t: Target,
  method: string,
  path: string,
  o: { body?: Buffer | string; headers?: Record<string, string>; auth?: string | false } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const auth = o.auth === undefined ? t.auth : o.auth;
  if (auth) headers.authorization = auth;
  const url = path.startsWith('http') ? path : `${t.base}${path}`;
  const res = await fetch(url, { method, headers, ...(o.body !== undefined ? { body: o.body } : {}), redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  const text = body.toString('utf8');
  let code: string | undefined;
  if ((res.headers.get('content-type') ?? '').includes('json') && res.status >= 400) {
    try {
      code = (JSON.parse(text) as { errors?: { code?: string }[] }).errors?.[0]?.code;
    } catch {
      code = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body, text, code, json: <T>() => JSON.parse(text) as T };
}

/** POST + PUT?digest of one blob; returns its digest. */
export async function pushBlob(t: Target, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const start = await call(t, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`POST upload: ${start.status} ${start.text}`);
  const location = start.headers.get('location') ?? '';
  const sep = location.includes('?') ? '&' : '?';
  const put = await call(t, 'PUT', `${location}${sep}digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${put.text}`);
  return digest;
}

export async function putManifest(t: Target, repo: string, ref: string, m: BuiltBlob): Promise<Reply> {
  return call(t, 'PUT', `/v2/${repo}/manifests/${ref}`, { body: m.bytes, headers: { 'content-type': m.mediaType } });
}

/** Push every blob of an image, then its manifest under `tag`. */
export async function pushImage(t: Target, repo: string, tag: string, image: BuiltImage): Promise<string> {
  for (const b of [image.config, ...image.layers]) await pushBlob(t, repo, b.bytes);
  const r = await putManifest(t, repo, tag, image.manifest);
  if (r.status !== 201) throw new Error(`PUT manifest: ${r.status} ${r.text}`);
  return image.manifest.digest;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
