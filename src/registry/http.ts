/**
 * The /v2/ edge: OCI Distribution Spec v1.1 over node:http. Parses the request, checks access,
 * calls RegistryContent / Uploads, and maps thrown errors to the spec's JSON envelope. Blob bytes
 * stream both ways; nothing holds a whole blob in memory.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../shared/clock.js';
import type { Access, AccessCheck } from './auth.js';
import { authorize, challenge, issueToken, scopeOf } from './auth.js';
import type { RegistryContent } from './content.js';
import { RegistryError, ociErrorOf } from './errors.js';
import { MAX_MANIFEST_BYTES, MEDIA_TYPES } from './manifest.js';
import type { Route } from './routes.js';
import { METHODS, parseContentRange, parsePageSize, parseRange, routeOf, uploadRange } from './routes.js';
import type { Uploads } from './uploads.js';

export interface HttpDeps {
  content: RegistryContent;
  uploads: Uploads;
  access: AccessCheck;
  realm: (req: IncomingMessage) => string;
  clock: Clock;
  /** Where unexpected (500) errors are reported. */
  onInternalError: (err: unknown, req: IncomingMessage) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const BLOB_HWM = 1024 * 1024;

export function createHttpHandler(d: HttpDeps): Handler {
  return (req, res) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    let route: Route | undefined;
    dispatch(d, req, res, (r) => (route = r)).catch((err: unknown) => {
      try {
        sendError(d, req, res, err, route);
      } catch (inner) {
        d.onInternalError(inner, req);
        res.destroy();
      }
    });
  };
}

async function dispatch(d: HttpDeps, req: IncomingMessage, res: ServerResponse, seen: (r: Route) => void): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://registry.invalid');
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    pathname = url.pathname;
  }
  const route = routeOf(pathname);
  if (!route) throw new RegistryError('UNSUPPORTED', `${pathname} is not a registry endpoint`, { status: 404 });
  seen(route);
  const method = req.method ?? 'GET';
  const allowed = METHODS[route.kind];
  if (!allowed.includes(method)) {
    res.setHeader('Allow', allowed.join(', '));
    throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${pathname}; use ${allowed.join(', ')}`);
  }
  const q = url.searchParams;

  if (route.kind === 'token') {
    const form = method === 'POST' ? new URLSearchParams((await readBody(req, 64 * 1024, 'token request')).toString('utf8')) : undefined;
    return sendJson(res, 200, issueToken(d.access, req, form, d.clock.now()));
  }
  authorize(d.access, req.headers.authorization, route.kind === 'base' ? 'ping' : accessFor(route, method));

  switch (route.kind) {
    case 'base':
      return sendJson(res, 200, {}, method === 'HEAD');
    case 'catalog': {
      const n = parsePageSize(q.get('n'));
      const page = d.content.catalog(n, q.get('last') ?? undefined);
      const last = page.repositories.at(-1);
      if (page.more && last) res.setHeader('Link', `</v2/_catalog?n=${page.repositories.length}&last=${encodeURIComponent(last)}>; rel="next"`);
      return sendJson(res, 200, { repositories: page.repositories });
    }
    case 'tags': {
      const n = parsePageSize(q.get('n'));
      const page = d.content.listTags(route.name, n, q.get('last') ?? undefined);
      const last = page.tags.at(-1);
      if (page.more && last) res.setHeader('Link', `</v2/${route.name}/tags/list?n=${page.tags.length}&last=${encodeURIComponent(last)}>; rel="next"`);
      return sendJson(res, 200, { name: route.name, tags: page.tags });
    }
    case 'referrers': {
      const artifactType = q.get('artifactType') ?? undefined;
      if (artifactType !== undefined) res.setHeader('OCI-Filters-Applied', 'artifactType');
      const index = d.content.referrers(route.name, route.digest, artifactType);
      res.setHeader('Content-Type', MEDIA_TYPES.ociIndex);
      return sendJson(res, 200, index, false, MEDIA_TYPES.ociIndex);
    }
    case 'manifest':
      return manifest(d, req, res, route.name, route.reference, q);
    case 'blob':
      return blob(d, req, res, route.name, route.digest);
    case 'uploadStart':
      return uploadStart(d, req, res, route.name, q);
    case 'upload':
      return upload(d, req, res, route.name, route.id, q);
  }
}

function accessFor(route: Route, method: string): Access {
  if (route.kind === 'uploadStart' || route.kind === 'upload') return 'push';
  return method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
}

async function manifest(d: HttpDeps, req: IncomingMessage, res: ServerResponse, name: string, reference: string, q: URLSearchParams): Promise<void> {
  const method = req.method;
  if (method === 'PUT') {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > MAX_MANIFEST_BYTES) {
      // Read the refused body before answering, so the client sees the 413 instead of a broken pipe.
      await discardBody(req, DISCARD_LIMIT_BYTES);
      throw tooLarge(declared);
    }
    const bytes = await readBody(req, MAX_MANIFEST_BYTES, 'manifest');
    const stored = await d.content.putManifest(name, reference, bytes, req.headers['content-type'], q.getAll('tag'));
    res.setHeader('Location', `/v2/${name}/manifests/${stored.digest}`);
    res.setHeader('Docker-Content-Digest', stored.digest);
    if (stored.subject) res.setHeader('OCI-Subject', stored.subject);
    if (q.getAll('tag').length) res.setHeader('OCI-Tag', stored.tags);
    res.writeHead(201, { 'Content-Length': '0' }).end();
    return;
  }
  if (method === 'DELETE') {
    d.content.deleteManifest(name, reference);
    res.writeHead(202, { 'Content-Length': '0' }).end();
    return;
  }
  const row = d.content.findManifest(name, reference);
  const bytes = await d.content.readManifest(row);
  res.writeHead(200, {
    'Content-Type': row.mediaType,
    'Content-Length': String(bytes.length),
    'Docker-Content-Digest': row.digest,
    ETag: `"${row.digest}"`,
  });
  res.end(method === 'HEAD' ? undefined : bytes);
}

function blob(d: HttpDeps, req: IncomingMessage, res: ServerResponse, name: string, digest: string): void {
  if (req.method === 'DELETE') {
    d.content.deleteBlob(name, digest);
    res.writeHead(202, { 'Content-Length': '0' }).end();
    return;
  }
  const size = d.content.blobSize(name, digest);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  if (req.method === 'HEAD') {
    // Pushers HEAD before they skip an upload: keep the blob through the next collection's grace.
    d.content.touchBlob(digest);
    res.writeHead(200, { ...headers, 'Content-Length': String(size) }).end();
    return;
  }
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('BLOB_UNKNOWN', `Range "${req.headers.range ?? ''}" does not fit a blob of ${size} bytes`, {
      status: 416,
      detail: { size },
    });
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (range) {
    res.writeHead(206, { ...headers, 'Content-Length': String(end - start + 1), 'Content-Range': `bytes ${start}-${end}/${size}` });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
  }
  if (end < start) {
    res.end();
    return;
  }
  const stream = createReadStream(d.content.blobPath(digest), { start, end, highWaterMark: BLOB_HWM });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

async function uploadStart(d: HttpDeps, req: IncomingMessage, res: ServerResponse, name: string, q: URLSearchParams): Promise<void> {
  const mount = q.get('mount');
  if (mount !== null && d.content.mount(name, mount)) {
    res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': '0' }).end();
    return;
  }
  const digest = q.get('digest');
  const session = await d.uploads.start(name);
  if (digest !== null) {
    // Single-POST monolithic upload: the body is the whole blob.
    const checked = d.content.checkDigest(digest);
    await d.uploads.finish(name, session.id, checked, req, undefined, contentLength(req));
    res.writeHead(201, { Location: `/v2/${name}/blobs/${checked}`, 'Docker-Content-Digest': checked, 'Content-Length': '0' }).end();
    return;
  }
  res.writeHead(202, {
    Location: `/v2/${name}/blobs/uploads/${session.id}`,
    Range: uploadRange(0),
    'Docker-Upload-UUID': session.id,
    'Content-Length': '0',
  });
  res.end();
}

async function upload(d: HttpDeps, req: IncomingMessage, res: ServerResponse, name: string, id: string, q: URLSearchParams): Promise<void> {
  const location = `/v2/${name}/blobs/uploads/${id}`;
  switch (req.method) {
    case 'GET': {
      const { offset } = await d.uploads.status(name, id);
      res.writeHead(204, { Location: location, Range: uploadRange(offset), 'Docker-Upload-UUID': id, 'Content-Length': '0' }).end();
      return;
    }
    case 'PATCH': {
      const range = parseContentRange(req.headers['content-range']);
      const { offset } = await d.uploads.append(name, id, req, range, contentLength(req));
      res.writeHead(202, { Location: location, Range: uploadRange(offset), 'Docker-Upload-UUID': id, 'Content-Length': '0' }).end();
      return;
    }
    case 'PUT': {
      const digestText = q.get('digest');
      if (digestText === null) {
        throw new RegistryError('DIGEST_INVALID', 'closing an upload needs the digest of the whole blob: PUT <location>?digest=sha256:<hex>');
      }
      const digest = d.content.checkDigest(digestText);
      const hasBody = (contentLength(req) ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      const range = hasBody ? parseContentRange(req.headers['content-range']) : undefined;
      await d.uploads.finish(name, id, digest, hasBody ? req : undefined, range, contentLength(req));
      res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' }).end();
      return;
    }
    default: {
      await d.uploads.cancel(name, id);
      res.writeHead(204, { 'Content-Length': '0' }).end();
    }
  }
}

function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

function tooLarge(size: number): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `the manifest is ${size} bytes; this registry accepts manifests up to ${MAX_MANIFEST_BYTES} bytes (4 MiB)`, {
    status: 413,
    detail: { size, limit: MAX_MANIFEST_BYTES },
  });
}

/** Refused bodies up to this size are read and dropped before the answer; bigger ones are cut off. */
const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

function discardBody(req: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        resolve();
      }
    });
    req.on('end', () => resolve());
    req.on('error', () => resolve());
  });
}

/** Read a small body whole, refusing more than `limit` bytes (answered once the body has been read). */
function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = () => reject(what === 'manifest' ? tooLarge(size) : new RegistryError('SIZE_INVALID', `the ${what} is larger than ${limit} bytes`, { status: 413 }));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        if (size > DISCARD_LIMIT_BYTES) {
          req.removeAllListeners('data');
          req.resume();
          refuse();
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => (size > limit ? refuse() : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, head = false, contentType = 'application/json'): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
  res.end(head ? undefined : bytes);
}

function sendError(d: HttpDeps, req: IncomingMessage, res: ServerResponse, err: unknown, route: Route | undefined): void {
  const reply = ociErrorOf(err);
  if (reply.status >= 500) d.onInternalError(err, req);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (reply.status === 401) {
    const access = route ? accessFor(route, req.method ?? 'GET') : 'pull';
    res.setHeader('WWW-Authenticate', challenge(d.realm(req), route && 'name' in route ? scopeOf(route.name, access) : undefined));
  }
  if (reply.status === 416 && err instanceof RegistryError) {
    const offset = (err.detail as { offset?: number } | undefined)?.offset;
    if (offset !== undefined) res.setHeader('Range', uploadRange(offset));
  }
  // A body we did not read would otherwise be drained before the connection could be reused.
  if (!req.complete) res.setHeader('Connection', 'close');
  const body = { errors: [{ code: reply.code, message: reply.message, ...(reply.detail === undefined ? {} : { detail: reply.detail }) }] };
  sendJson(res, reply.status, body, req.method === 'HEAD');
}
