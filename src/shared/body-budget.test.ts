import { describe, expect, it } from 'vitest';
import { BodyBudget } from './body-budget.js';

describe('BodyBudget', () => {
  it('grants leases until the budget is used, and takes nothing from a refused take', () => {
    const b = new BodyBudget(100);
    const x = b.lease();
    const y = b.lease();
    expect(x.take(60)).toBe(true);
    expect(y.take(50)).toBe(false);
    expect(y.heldBytes).toBe(0);
    expect(y.take(40)).toBe(true);
    expect(b.usedBytes).toBe(100);
    expect(x.take(1)).toBe(false);
    expect(x.heldBytes).toBe(60);
  });

  it('gives everything back on release, once, and a released lease takes nothing more', () => {
    const b = new BodyBudget(100);
    const x = b.lease();
    x.take(30);
    x.take(30);
    x.release();
    x.release();
    expect(b.usedBytes).toBe(0);
    expect(x.take(1)).toBe(false);
    expect(b.lease().take(100)).toBe(true);
  });

  it('says what to do when exhausted: RESOURCE_EXHAUSTED, retry in a second', () => {
    const e = new BodyBudget(64 * 1024 * 1024).lease().exhausted();
    expect(e.code).toBe('RESOURCE_EXHAUSTED');
    expect(e.fields.retryAfterSec).toBe(1);
    expect(e.message).toContain('64 MiB');
  });

  it('refuses a budget that is not above zero', () => {
    expect(() => new BodyBudget(0)).toThrow(/above 0/);
  });
});
