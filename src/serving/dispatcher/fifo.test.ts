import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('keeps order and skips cancelled items', () => {
    const q = new Fifo<{ n: number; cancelled: boolean }>();
    const items = [1, 2, 3, 4].map((n) => ({ n, cancelled: false }));
    items.forEach((i) => q.push(i));
    expect(q.cancel(items[1]!)).toBe(true);
    expect(q.cancel(items[1]!)).toBe(false);
    expect(q.size).toBe(3);
    expect(q.shift()?.n).toBe(1);
    expect(q.shift()?.n).toBe(3);
    expect(q.drain().map((i) => i.n)).toEqual([4]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('stays correct across compaction', () => {
    const q = new Fifo<{ n: number; cancelled: boolean }>();
    for (let i = 0; i < 5000; i++) q.push({ n: i, cancelled: false });
    for (let i = 0; i < 3000; i++) expect(q.shift()?.n).toBe(i);
    q.push({ n: 5000, cancelled: false });
    expect(q.size).toBe(2001);
    expect(q.shift()?.n).toBe(3000);
  });
});
