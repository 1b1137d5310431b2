import { describe, expect, it } from 'vitest';
import { rebalance, sharesOf, targetsOf } from './traffic.js';

const total = (s: { percent: number }[]) => s.reduce((a, x) => a + x.percent, 0);

describe('traffic sliders', () => {
  it('takes the difference from the others in proportion, always adding up to 100', () => {
    const s = [
      { revision: 'a', percent: 50 },
      { revision: 'b', percent: 30 },
      { revision: 'c', percent: 20 },
    ];
    const r = rebalance(s, 0, 80);
    expect(r.map((x) => x.percent)).toEqual([80, 12, 8]);
    expect(rebalance(s, 2, 0).map((x) => x.percent)).toEqual([63, 37, 0]);
    for (let v = 0; v <= 100; v += 7) expect(total(rebalance(s, 1, v))).toBe(100);
  });

  it('spreads evenly when the others hold nothing, and clamps', () => {
    const s = [
      { revision: 'a', percent: 100 },
      { revision: 'b', percent: 0 },
      { revision: 'c', percent: 0 },
    ];
    expect(rebalance(s, 0, 40).map((x) => x.percent)).toEqual([40, 30, 30]);
    expect(rebalance(s, 0, 35).map((x) => x.percent)).toEqual([35, 33, 32]);
    expect(rebalance(s, 1, 140).map((x) => x.percent)).toEqual([0, 100, 0]);
    expect(rebalance([{ revision: 'a', percent: 100 }], 0, 10).map((x) => x.percent)).toEqual([100]);
  });

  it('reads shares from status (tags kept) and writes pinned targets', () => {
    const shares = sharesOf(
      [
        { revisionName: 'a', percent: 90, latestRevision: true },
        { revisionName: 'b', percent: 10 },
        { revisionName: 'c', percent: 0, tag: 'canary' },
      ],
      ['a', 'b', 'c', 'd'],
    );
    expect(shares).toEqual([
      { revision: 'a', percent: 90 },
      { revision: 'b', percent: 10 },
      { revision: 'c', percent: 0, tag: 'canary' },
      { revision: 'd', percent: 0 },
    ]);
    expect(targetsOf(rebalance(shares, 3, 50))).toEqual([
      { revisionName: 'a', percent: 45 },
      { revisionName: 'b', percent: 5 },
      { revisionName: 'c', percent: 0, tag: 'canary' },
      { revisionName: 'd', percent: 50 },
    ]);
  });
});
