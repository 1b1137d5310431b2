/** AIP-158 pagination over an in-memory list: opaque page tokens, a default and a maximum size. Pure. */
import { invalidArgument } from '../shared/errors.js';

export interface Page<T> {
  items: T[];
  /** Empty when this is the last page. */
  nextPageToken: string;
}

export function paginate<T>(all: readonly T[], pageSize: number | undefined, pageToken: string | undefined, limits = { default: 100, max: 1000 }): Page<T> {
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 0)) {
    throw invalidArgument([{ field: 'pageSize', description: `must be a non-negative integer, got ${pageSize}` }]);
  }
  const size = Math.min(pageSize || limits.default, limits.max);
  let offset = 0;
  if (pageToken) {
    const m = /^o(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'));
    if (!m) throw invalidArgument([{ field: 'pageToken', description: 'is not a page token this server issued; pass the nextPageToken of the previous page' }]);
    offset = Number(m[1]);
  }
  const items = all.slice(offset, offset + size);
  const next = offset + size < all.length ? Buffer.from(`o${offset + size}`).toString('base64url') : '';
  return { items, nextPageToken: next };
}
