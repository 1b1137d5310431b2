import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import { openDatabase } from '../../store/database.js';
import type { LogEntry } from '../log.types.js';
import { LogStore, matches } from './log.store.js';

function entry(service: string, timeMs: number, text: string, extra: Partial<LogEntry> = {}): LogEntry {
  return { insertId: `${timeMs}-${text}`, timestamp: new Date(timeMs).toISOString(), timeMs, severity: 'DEFAULT', kind: 'stdout', service, textPayload: text, ...extra };
}

describe('LogStore', () => {
  it('returns the newest entries oldest first, filtered', async () => {
    const clock = new FakeClock(1_000_000);
    const store = new LogStore({ db: openDatabase(':memory:'), clock, retentionMs: 1e9 });
    for (let i = 0; i < 10; i++) store.append(entry('a', 1_000_000 + i, `line ${i}`, i === 7 ? { severity: 'ERROR', revision: 'a-2' } : { revision: 'a-1' }));
    store.append(entry('b', 1_000_000, 'other service'));
    expect((await store.query({ service: 'a', limit: 3 })).map((e) => e.textPayload)).toEqual(['line 7', 'line 8', 'line 9']);
    expect((await store.query({ service: 'a', limit: 10, severity: 'WARNING' })).map((e) => e.textPayload)).toEqual(['line 7']);
    expect(await store.query({ service: 'a', limit: 10, revision: 'a-2' })).toHaveLength(1);
    expect(await store.query({ service: 'a', limit: 100, sinceMs: 1_000_008 })).toHaveLength(2);
    await store.close();
  });

  it('finds entries by text, ignoring case, in the store and in the tail filter alike', async () => {
    const store = new LogStore({ db: openDatabase(':memory:'), clock: new FakeClock(0), retentionMs: 1e9 });
    const entries = [
      entry('a', 1, 'Connected to DB'),
      entry('a', 2, 'quoted "db" name'),
      entry('a', 3, 'nothing here'),
      entry('a', 4, '', { textPayload: undefined, jsonPayload: { message: 'payment OK', user: 'Ann' } }),
    ];
    for (const e of entries) store.append(e);
    const texts = async (text: string) => (await store.query({ service: 'a', limit: 10, text })).map((e) => e.timeMs);
    expect(await texts('db')).toEqual([1, 2]);
    expect(await texts('"DB"')).toEqual([2]);
    expect(await texts('ann')).toEqual([4]);
    expect(await texts('absent')).toEqual([]);
    expect(entries.filter((e) => matches({ service: 'a', text: 'DB' }, e)).map((e) => e.timeMs)).toEqual([1, 2]);
    await store.close();
  });

  it('tells subscribers at once and prunes past retention', async () => {
    const clock = new FakeClock(10_000);
    const store = new LogStore({ db: openDatabase(':memory:'), clock, retentionMs: 5_000 });
    const seen: string[] = [];
    const off = store.subscribe((e) => seen.push(e.textPayload ?? ''));
    store.append(entry('a', 1_000, 'old'));
    store.append(entry('a', 9_000, 'new'));
    off();
    store.append(entry('a', 9_500, 'unseen'));
    expect(seen).toEqual(['old', 'new']);
    await store.applyRetention();
    expect((await store.query({ service: 'a', limit: 10 })).map((e) => e.textPayload)).toEqual(['new', 'unseen']);
    await store.close();
  });
});

describe('LogStore rows', () => {
  it('keeps an entry whose app-supplied trace holds tabs and newlines in one row', async () => {
    const store = new LogStore({ db: openDatabase(':memory:'), clock: new FakeClock(1000), retentionMs: 1e9 });
    store.append(entry('a', 1000, 'x', { trace: 'projects/p/traces/a\tb\nc', jsonPayload: { note: 'tab\there\nnewline' } }));
    store.append(entry('a', 1001, 'y'));
    const rows = await store.query({ service: 'a', limit: 10 });
    expect(rows.map((r) => r.textPayload)).toEqual(['x', 'y']);
    expect(rows[0]?.jsonPayload).toEqual({ note: 'tab\there\nnewline' });
    await store.close();
  });
});

describe('LogStore batches', () => {
  it('stores batches of any size whole and in order (many-row inserts and the remainder)', async () => {
    const store = new LogStore({ db: openDatabase(':memory:'), clock: new FakeClock(1000), retentionMs: 1e9 });
    for (let i = 0; i < 70; i++) store.append(entry('a', 1000 + i, `n${i}`));
    await store.flush();
    store.append(entry('a', 2000, 'last'));
    const rows = await store.query({ service: 'a', limit: 100 });
    expect(rows.map((r) => r.textPayload)).toEqual([...Array.from({ length: 70 }, (_, i) => `n${i}`), 'last']);
    await store.close();
  });
});
