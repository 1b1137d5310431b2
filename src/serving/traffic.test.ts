import { describe, expect, it } from 'vitest';
import { pickRevision, resolveTraffic, revisionForTag } from './traffic.js';

describe('traffic', () => {
  it('sends everything to the latest ready revision by default', () => {
    expect(resolveTraffic([], 'a-00002-xyz')).toEqual([{ revisionName: 'a-00002-xyz', percent: 100, latestRevision: true }]);
    expect(resolveTraffic([], undefined)).toEqual([]);
  });

  it('splits by percent', () => {
    const targets = resolveTraffic(
      [
        { revisionName: 'a-1', percent: 25 },
        { latestRevision: true, percent: 75, tag: 'next' },
      ],
      'a-2',
    );
    expect(pickRevision(targets, 0)).toBe('a-1');
    expect(pickRevision(targets, 0.2499)).toBe('a-1');
    expect(pickRevision(targets, 0.25)).toBe('a-2');
    expect(pickRevision(targets, 0.9999)).toBe('a-2');
    expect(revisionForTag(targets, 'next')).toBe('a-2');
    expect(revisionForTag(targets, 'nope')).toBeUndefined();
  });

  it('never picks a 0 % target', () => {
    const targets = resolveTraffic([{ revisionName: 'a-1', percent: 0, tag: 'old' }, { revisionName: 'a-2', percent: 100 }], undefined);
    for (const r of [0, 0.5, 0.999]) expect(pickRevision(targets, r)).toBe('a-2');
    expect(revisionForTag(targets, 'old')).toBe('a-1');
  });
});
