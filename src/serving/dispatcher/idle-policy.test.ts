import { describe, expect, it } from 'vitest';
import type { RevisionSettings } from '../revision.settings.js';
import { IdleGracePolicy } from './idle-policy.js';
import type { PoolView } from './revision-pool.js';

function view(idle: number[], ready: number, min = 0, starting = 0): PoolView {
  const settings = { minInstances: min, maxInstances: 10 } as RevisionSettings;
  return { settings, readyCount: ready, startingCount: starting, inFlight: 0, queued: 0, idleForMs: () => idle };
}

describe('IdleGracePolicy', () => {
  const p = new IdleGracePolicy(30_000);
  it('keeps instances inside the grace period', () => {
    expect(p.desired(view([29_999], 1), 0).count).toBe(1);
  });
  it('drains instances idle past the grace period down to zero', () => {
    expect(p.desired(view([30_000, 45_000, 10], 3), 0).count).toBe(1);
  });
  it('never goes below min instances, and asks for them', () => {
    expect(p.desired(view([60_000, 60_000], 2, 1), 0).count).toBe(1);
    expect(p.desired(view([], 0, 2), 0)).toEqual({ count: 2, reason: 'min-instances' });
  });
  it('counts starting instances as live', () => {
    expect(p.desired(view([], 0, 0, 2), 0).count).toBe(2);
  });
});
