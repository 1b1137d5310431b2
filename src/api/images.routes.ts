/** API routes over kumo's registry for `kumo images list|describe|delete|gc`. */
import type { Registry } from '../registry/index.js';
import type { Revision } from '../serving/revision.types.js';
import { KEYS } from '../serving/service.types.js';
import type { Routes } from './http.js';
import { sendJson } from './http.js';

export interface ImageRouteOptions {
  registry: Registry;
  /** Every stored revision, to tell which use an image. */
  revisions(): Revision[];
}

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
  routes.add('POST', '/api/images:gc', (_req, res) => sendJson(res, 200, o.registry.gc()));
}
