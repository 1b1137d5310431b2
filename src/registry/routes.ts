/**
 * Which /v2/ endpoint a request names (distribution-spec §endpoints), plus the small header
 * grammars the endpoints share (Range, Content-Range, pagination). Pure.
 */
import { RegistryError } from './errors.js';
import { checkName } from './reference.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'token' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploadStart'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploadStart', name: m[1] ?? '' })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1] ?? '', id: m[2] ?? '' })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1] ?? '', digest: m[2] ?? '' })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1] ?? '', reference: m[2] ?? '' })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] ?? '' })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1] ?? '', digest: m[2] ?? '' })],
];

/** Methods each endpoint answers. */
export const METHODS: Record<Route['kind'], readonly string[]> = {
  base: ['GET', 'HEAD'],
  token: ['GET', 'POST'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  uploadStart: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  referrers: ['GET'],
};

/** Route a decoded path; undefined when it is no registry endpoint. Throws NAME_INVALID for a bad name. */
export function routeOf(pathname: string): Route | undefined {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'base' };
  if (pathname === '/v2/token') return { kind: 'token' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  for (const [re, make] of PATTERNS) {
    const m = re.exec(pathname);
    if (!m) continue;
    const route = make(m);
    if ('name' in route) checkName(route.name);
    return route;
  }
  return undefined;
}

/** A byte range to serve, `unsatisfiable`, or undefined to serve the whole blob. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges or another unit: RFC 9110 lets a server ignore Range and send everything.
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || (b !== '' && Number(b) < start)) return 'unsatisfiable';
  return { start, end };
}

/** `Content-Range: <start>-<end>` of a chunk (also tolerating a `bytes ` prefix and `/total`). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range "${header}" must look like <start>-<end> (inclusive byte offsets)`, {
      status: 416,
    });
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range "${header}" ends before it starts`, { status: 416 });
  }
  return { start, end };
}

/** The `n` pagination parameter: absent, or a non-negative integer. */
export function parsePageSize(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^\d{1,9}$/.test(text)) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `n="${text}" must be a non-negative integer`, { detail: { n: text } });
  }
  return Number(text);
}

/** `0-<last byte>` as the spec's Range header for an upload holding `size` bytes. */
export function uploadRange(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
