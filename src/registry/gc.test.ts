import { describe, expect, it } from 'vitest';
import { planCollection } from './gc.js';
import type { CollectionSnapshot } from './registry.store.js';

const NOW = 1_000_000_000;
const OLD = NOW - 10_000;
const GRACE = 1000;

function snap(p: Partial<CollectionSnapshot>): CollectionSnapshot {
  return { manifests: [], tags: [], refs: [], blobs: [], ...p };
}
const m = (digest: string, o: { repository?: string; subject?: string; createdAt?: number } = {}) => ({
  repository: o.repository ?? 'r',
  digest,
  subject: o.subject ?? null,
  createdAt: o.createdAt ?? OLD,
});
const blob = (digest: string, usedAt = OLD, size = 1) => ({ digest, size, usedAt });
const ref = (manifest: string, child: string, kind: 'blob' | 'manifest' = 'blob', repository = 'r') => ({ repository, manifest, child, kind });

describe('planCollection', () => {
  it('keeps tagged manifests and their blobs, collects untagged old ones and blobs only they used', () => {
    const plan = planCollection(
      snap({
        manifests: [m('M1'), m('M2')],
        tags: [{ repository: 'r', digest: 'M1' }],
        refs: [ref('M1', 'C1'), ref('M1', 'L'), ref('M2', 'C2'), ref('M2', 'L')],
        blobs: [blob('M1'), blob('M2'), blob('C1'), blob('C2'), blob('L'), blob('stray', OLD, 5)],
      }),
      new Set(),
      NOW,
      GRACE,
    );
    expect(plan.manifests).toEqual([{ repository: 'r', digest: 'M2' }]);
    expect(plan.blobs.map((b) => b.digest).sort()).toEqual(['C2', 'M2', 'stray']);
  });

  it('keeps pinned digests, young manifests and blobs, and protected digests', () => {
    const plan = planCollection(
      snap({
        manifests: [m('PIN'), m('YOUNG', { createdAt: NOW - 10 }), m('PROT')],
        refs: [ref('PIN', 'P1'), ref('YOUNG', 'Y1'), ref('PROT', 'X1')],
        blobs: [blob('P1'), blob('Y1'), blob('X1'), blob('fresh', NOW - 5), blob('PIN'), blob('YOUNG'), blob('PROT')],
      }),
      new Set(['PIN']),
      NOW,
      GRACE,
      new Set(['PROT', 'X1']),
    );
    expect(plan.manifests).toEqual([]);
    expect(plan.blobs).toEqual([]);
  });

  it('follows index children in the same repository and referrers of kept manifests', () => {
    const plan = planCollection(
      snap({
        manifests: [m('IDX'), m('CHILD'), m('SIG', { subject: 'IDX' }), m('SIG2', { subject: 'SIG' }), m('ORPHANSIG', { subject: 'GONE' }), m('CHILD', { repository: 'other' })],
        tags: [{ repository: 'r', digest: 'IDX' }],
        refs: [ref('IDX', 'CHILD', 'manifest'), ref('CHILD', 'L')],
        blobs: [blob('L')],
      }),
      new Set(),
      NOW,
      GRACE,
    );
    expect(plan.manifests).toEqual([
      { repository: 'r', digest: 'ORPHANSIG' },
      { repository: 'other', digest: 'CHILD' },
    ]);
    expect(plan.blobs).toEqual([]);
  });

  it('a pinned manifest keeps its blobs even when pinned in another repository', () => {
    const plan = planCollection(
      snap({ manifests: [m('A', { repository: 'x' })], refs: [ref('A', 'L', 'blob', 'x')], blobs: [blob('L'), blob('A')] }),
      new Set(['A']),
      NOW,
      GRACE,
    );
    expect(plan).toEqual({ manifests: [], blobs: [] });
  });
});
