/** API routes over kumo's registry for `kumo images list|describe|delete|gc`. */
import type { Registry } from '../registry/index.js';
import type { Revision } from '../serving/revision.types.js';
import { KEYS } from '../serving/service.types.js';
import { KumoError } from '../shared/errors.js';
import type { Routes } from './http.js';
import { sendJson } from './http.js';

export interface ImageRouteOptions {
  registry: Registry;
  /** Every stored revision, to tell which use an image. */
  revisions(): Revision[];
}

/** 30 days: the longest grace `kumo images gc --grace` takes. */
export const MAX_GRACE_MS = 30 * 24 * 3_600_000;

export function addImageRoutes(routes: Routes, o: ImageRouteOptions): void {
  const usedBy = () => {
    const by = new Map<string, { service: string; revision: string }[]>();
    for (const r of o.revisions()) {
      const pinned = r.status.imageDigest;
      if (!pinned) continue;
      const list = by.get(pinned) ?? [];
      list.push({ service: r.metadata.labels[KEYS.serviceLabel] ?? '', revision: r.metadata.name });
      by.set(pinned, list);
    }
    return by;
  };
  routes.add('GET', '/api/images', (_req, res) => {
    const by = usedBy();
    const items = o.registry.listImages().map((i) => ({
      ...i,
      usedBy: [...by.entries()].filter(([k]) => k.startsWith(`${i.repository}@`)).flatMap(([, v]) => v),
    }));
    sendJson(res, 200, { items });
  });
  routes.add('GET', '/api/images/*', async (_req, res, p) => {
    const d = await o.registry.describeImage(p['*'] ?? '');
    const by = usedBy();
    sendJson(res, 200, { ...d, versions: d.versions.map((v) => ({ ...v, usedBy: by.get(`${d.repository}@${v.digest}`) ?? [] })) });
  });
  routes.add('DELETE', '/api/images/*', (_req, res, p) => sendJson(res, 200, o.registry.deleteImage(p['*'] ?? '')));
  routes.add('POST', '/api/images:gc', (_req, res, _p, url) => {
    // Without graceMs the registry's own grace applies: anything pushed within it may belong to
    // a push in progress. `graceMs=0` is for when no push runs.
    const raw = url.searchParams.get('graceMs');
    const graceMs = raw === null ? undefined : Number(raw);
    if (graceMs !== undefined && (!/^\d+$/.test(raw ?? '') || graceMs > MAX_GRACE_MS)) {
      throw new KumoError('INVALID_ARGUMENT', `graceMs must be a whole number of milliseconds from 0 to ${MAX_GRACE_MS}; got "${raw ?? ''}"`, { field: 'graceMs' });
    }
    sendJson(res, 200, o.registry.gc(graceMs === undefined ? {} : { graceMs }));
  });
}
