import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { parseContentRange, parsePageSize, parseRange, routeOf, uploadRange } from './routes.js';

describe('routeOf', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/token', { kind: 'token' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/a/b/tags/list', { kind: 'tags', name: 'a/b' }],
    ['/v2/a/manifests/v1', { kind: 'manifest', name: 'a', reference: 'v1' }],
    [`/v2/a/blobs/${d}`, { kind: 'blob', name: 'a', digest: d }],
    ['/v2/a/b/blobs/uploads/', { kind: 'uploadStart', name: 'a/b' }],
    ['/v2/a/b/blobs/uploads', { kind: 'uploadStart', name: 'a/b' }],
    ['/v2/a/blobs/uploads/123', { kind: 'upload', name: 'a', id: '123' }],
    [`/v2/a/referrers/${d}`, { kind: 'referrers', name: 'a', digest: d }],
    // Names may contain the words the routes use.
    ['/v2/team/blobs/manifests/manifests/v1', { kind: 'manifest', name: 'team/blobs/manifests', reference: 'v1' }],
    ['/v2/tags/list/tags/list', { kind: 'tags', name: 'tags/list' }],
  ])('%s', (path, route) => {
    expect(routeOf(path)).toEqual(route);
  });

  it('is undefined off the API and NAME_INVALID for a bad name', () => {
    expect(routeOf('/v2/a/other')).toBeUndefined();
    expect(routeOf('/api/x')).toBeUndefined();
    expect(() => routeOf('/v2/A/manifests/v1')).toThrow(RegistryError);
  });
});

describe('ranges', () => {
  it('reads Range for a blob of 10 bytes', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=4-', 10)).toEqual({ start: 4, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=8-30', 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=500-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
  });

  it('reads Content-Range of a chunk', () => {
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(() => parseContentRange('9-1')).toThrow(/ends before it starts/);
    expect(() => parseContentRange('abc')).toThrow(RegistryError);
  });

  it('formats upload Range and reads n', () => {
    expect(uploadRange(0)).toBe('0-0');
    expect(uploadRange(100)).toBe('0-99');
    expect(parsePageSize(null)).toBeUndefined();
    expect(parsePageSize('0')).toBe(0);
    expect(parsePageSize('25')).toBe(25);
    expect(() => parsePageSize('-1')).toThrow(RegistryError);
    expect(() => parsePageSize('1e3')).toThrow(RegistryError);
  });
});
