/**
 * Property tests for the meter against an independent oracle: a millisecond bitmap of when the
 * instance was billable, whose runs are rounded up to 100 ms each. Traces come from a seeded
 * PRNG so a failure names its seed.
 */
import { describe, expect, it } from 'vitest';
import { BillingMeter } from './meter.js';
import type { BillingMode } from './meter.js';

/** xorshift32: tiny, deterministic, good enough to shuffle test traces. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

interface Trace {
  start: number;
  ready: number;
  requests: { from: number; to: number }[];
  stopping: number;
  stopped: number;
}

function randomTrace(rand: () => number): Trace {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const start = int(0, 1000);
  const ready = start + int(1, 800);
  const horizon = ready + int(100, 8000);
  const requests: Trace['requests'] = [];
  const n = int(0, 40);
  const bursty = rand() < 0.5;
  for (let i = 0; i < n; i++) {
    const from = bursty ? ready + int(0, 300) : int(ready, horizon);
    requests.push({ from, to: from + int(1, bursty ? 400 : 1500) });
  }
  const lastEnd = Math.max(ready, ...requests.map((r) => r.to));
  // Stop is requested while requests may still drain; the instance exits after they end.
  const stopping = int(ready, lastEnd + 500);
  const stopped = Math.max(stopping, lastEnd) + int(1, 300);
  return { start, ready, requests, stopping, stopped };
}

/** Oracle: mark each billable millisecond, then round every run up to 100 ms. */
function oracleBilledMs(t: Trace, mode: BillingMode): { billed: number; busy: number; runs: number } {
  const marks = new Uint8Array(t.stopped + 1);
  const mark = (a: number, b: number): void => {
    for (let ms = a; ms < b; ms++) marks[ms] = 1;
  };
  if (mode === 'instance') mark(t.start, t.stopped);
  else {
    mark(t.start, t.ready);
    for (const r of t.requests) mark(r.from, r.to);
    mark(t.stopping, t.stopped);
  }
  let billed = 0;
  let busy = 0;
  let runs = 0;
  let run = 0;
  for (let ms = 0; ms <= marks.length; ms++) {
    if (marks[ms] === 1) run++;
    else if (run > 0) {
      billed += Math.ceil(run / 100) * 100;
      busy += run;
      runs++;
      run = 0;
    }
  }
  return { billed, busy, runs };
}

type Event = { at: number; order: number; apply: (m: ReturnType<BillingMeter['instanceStarting']>) => void };

function replay(t: Trace, mode: BillingMode, flushTimes: number[]): { billed: number; requests: number } {
  const meter = new BillingMeter();
  const events: Event[] = [
    { at: t.ready, order: 0, apply: (m) => m.ready(t.ready) },
    { at: t.stopping, order: 2, apply: (m) => m.stopping(t.stopping) },
    { at: t.stopped, order: 3, apply: (m) => m.stopped(t.stopped) },
  ];
  for (const r of t.requests) {
    events.push({ at: r.from, order: 1, apply: (m) => m.requestStarted(r.from) });
    events.push({ at: r.to, order: 0, apply: (m) => m.requestEnded(r.to) });
  }
  events.sort((a, b) => a.at - b.at || a.order - b.order);
  const m = meter.instanceStarting(
    { service: 's', revision: 's-1', instanceId: 'i', mode, cpuMillis: 1000, memoryBytes: 1024 ** 3 },
    t.start,
  );
  let billed = 0;
  let requests = 0;
  const flushes = [...flushTimes].sort((a, b) => a - b);
  let f = 0;
  const drain = (until: number): void => {
    while (f < flushes.length && (flushes[f] ?? Infinity) <= until) {
      for (const r of meter.flush(flushes[f] ?? 0)) {
        billed += r.billableMs;
        requests += r.requests;
      }
      f++;
    }
  };
  for (const e of events) {
    drain(e.at - 1);
    e.apply(m);
  }
  drain(Infinity);
  for (const r of meter.flush(t.stopped + 1000)) {
    billed += r.billableMs;
    requests += r.requests;
  }
  return { billed, requests };
}

const SEEDS = Array.from({ length: 300 }, (_, i) => 0x9e3779b9 ^ (i * 7919));

describe('meter properties (300 seeded traces each)', () => {
  for (const mode of ['request', 'instance'] as const) {
    it(`${mode}-based: equals the bitmap oracle, whatever the flush times`, () => {
      let checked = 0;
      for (const seed of SEEDS) {
        const rand = prng(seed);
        const t = randomTrace(rand);
        const oracle = oracleBilledMs(t, mode);
        const flushes = Array.from({ length: Math.floor(rand() * 12) }, () => Math.floor(rand() * (t.stopped + 200)));
        const once = replay(t, mode, []);
        const split = replay(t, mode, flushes);
        expect({ seed, billed: once.billed }).toEqual({ seed, billed: oracle.billed });
        expect({ seed, billed: split.billed }).toEqual({ seed, billed: oracle.billed });
        expect(split.requests).toBe(t.requests.length);
        // Rounding adds less than one unit per busy period, and never bills less than busy time.
        expect(once.billed).toBeGreaterThanOrEqual(oracle.busy);
        expect(once.billed).toBeLessThan(oracle.busy + 100 * oracle.runs + 1);
        checked++;
      }
      expect(checked).toBe(SEEDS.length);
    });
  }

  it('concurrent requests share time: billed never exceeds the parts billed alone', () => {
    let oneRun = 0;
    for (const seed of SEEDS) {
      const t = randomTrace(prng(seed));
      const { billed } = replay(t, 'request', []);
      const alone =
        Math.ceil((t.ready - t.start) / 100) * 100 +
        t.requests.reduce((n, r) => n + Math.ceil((r.to - r.from) / 100) * 100, 0) +
        Math.ceil((t.stopped - t.stopping) / 100) * 100;
      expect(billed).toBeLessThanOrEqual(alone);
      // With one busy period (always busy), request-based equals instance-based.
      if (oracleBilledMs(t, 'request').runs === 1) {
        oneRun++;
        expect(billed).toBe(replay(t, 'instance', []).billed);
      }
    }
    expect(oneRun).toBeGreaterThan(0);
  });
});
