/**
 * Garbage collection. `planCollection` is pure: given a snapshot of the metadata, the digests
 * revisions are pinned to, `now` and a grace period, it decides which manifests and blobs go.
 *
 * Kept: tagged manifests, pinned digests, anything younger than the grace period (a push in
 * progress), the children of a kept index and the referrers (`subject`) of a kept manifest.
 * Blobs go when no kept manifest references them and no pusher touched them within the grace.
 */
import type { CollectionSnapshot } from './registry.store.js';

export interface CollectionPlan {
  manifests: { repository: string; digest: string }[];
  blobs: { digest: string; size: number }[];
}

const key = (repository: string, digest: string): string => `${repository}\u0000${digest}`;

export function planCollection(
  snap: CollectionSnapshot,
  pinnedDigests: ReadonlySet<string>,
  now: number,
  graceMs: number,
  protectedDigests: ReadonlySet<string> = new Set(),
): CollectionPlan {
  const cutoff = now - graceMs;
  const children = new Map<string, string[]>();
  const blobRefs = new Map<string, string[]>();
  for (const r of snap.refs) {
    const map = r.kind === 'manifest' ? children : blobRefs;
    const k = key(r.repository, r.manifest);
    const list = map.get(k);
    if (list) list.push(r.child);
    else map.set(k, [r.child]);
  }
  const referrers = new Map<string, string[]>();
  for (const m of snap.manifests) {
    if (!m.subject) continue;
    const k = key(m.repository, m.subject);
    const list = referrers.get(k);
    if (list) list.push(m.digest);
    else referrers.set(k, [m.digest]);
  }

  const kept = new Set<string>();
  const work: [string, string][] = [];
  const keep = (repository: string, digest: string): void => {
    const k = key(repository, digest);
    if (kept.has(k)) return;
    kept.add(k);
    work.push([repository, digest]);
  };
  for (const t of snap.tags) keep(t.repository, t.digest);
  for (const m of snap.manifests) {
    if (pinnedDigests.has(m.digest) || m.createdAt >= cutoff || protectedDigests.has(m.digest)) keep(m.repository, m.digest);
  }
  const present = new Set(snap.manifests.map((m) => key(m.repository, m.digest)));
  for (let item = work.pop(); item; item = work.pop()) {
    const [repository, digest] = item;
    const k = key(repository, digest);
    for (const c of children.get(k) ?? []) if (present.has(key(repository, c))) keep(repository, c);
    for (const r of referrers.get(k) ?? []) keep(repository, r);
  }

  const referenced = new Set<string>();
  for (const m of snap.manifests) {
    const k = key(m.repository, m.digest);
    if (!kept.has(k)) continue;
    referenced.add(m.digest);
    for (const b of blobRefs.get(k) ?? []) referenced.add(b);
  }
  return {
    manifests: snap.manifests.filter((m) => !kept.has(key(m.repository, m.digest))).map((m) => ({ repository: m.repository, digest: m.digest })),
    blobs: snap.blobs
      .filter((b) => !referenced.has(b.digest) && b.usedAt < cutoff && !protectedDigests.has(b.digest) && !pinnedDigests.has(b.digest))
      .map((b) => ({ digest: b.digest, size: b.size })),
  };
}
