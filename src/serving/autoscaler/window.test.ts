import { describe, expect, it } from 'vitest';
import { InFlightIntegrator } from './integrator.js';
import { SecondWindow } from './window.js';

describe('SecondWindow', () => {
  it('averages from the first second with data, so a burst at zero counts in full', () => {
    const w = new SecondWindow(60);
    w.record(100_000, 200);
    expect(w.average(100_500, 60_000)).toBe(200);
    w.record(101_000, 100);
    expect(w.average(101_000, 60_000)).toBe(150); // (200 + 100) / 2
    expect(w.average(101_000, 1000)).toBe(100);
  });

  it('counts gaps between reports as zero but not seconds after the last report', () => {
    const w = new SecondWindow(10);
    w.record(0, 10);
    w.record(3000, 20); // seconds 1 and 2 missing
    expect(w.average(3000, 10_000)).toBe(7.5); // (10 + 0 + 0 + 20) / 4
    expect(w.average(5000, 10_000)).toBe(7.5); // s4, s5 not reported yet: not read as zero
    expect(w.average(5000, 2000)).toBe(0); // last 2 s (s4..s5) hold nothing
  });

  it('slides: old seconds leave the window', () => {
    const w = new SecondWindow(6);
    for (let s = 0; s < 6; s++) w.record(s * 1000, 6);
    for (let s = 6; s < 9; s++) w.record(s * 1000, 0);
    expect(w.average(8000, 6000)).toBe(3); // s3..s8: 6,6,6,0,0,0
    expect(w.average(20_000, 6000)).toBe(0); // nothing in the last 6 s
  });

  it('starts a new episode after a silent window', () => {
    const w = new SecondWindow(5);
    w.record(0, 50);
    w.record(10_000, 4);
    expect(w.average(10_000, 5000)).toBe(4);
  });

  it('keeps the larger of two readings in one second and tracks the last activity', () => {
    const w = new SecondWindow(5);
    w.record(1200, 3);
    w.record(1800, 9);
    w.record(1900, 2);
    expect(w.average(1900, 1000)).toBe(9);
    w.record(2500, 0);
    expect(w.lastActiveMs).toBe(1900); // the last reading above zero, not the zero after it
  });
});

describe('InFlightIntegrator', () => {
  it('returns the time-weighted average since the last sample', () => {
    const i = new InFlightIntegrator(0);
    i.inc(0);
    i.inc(500); // 1 for 500 ms, then 2 for 500 ms
    expect(i.sample(1000)).toBe(1.5);
    expect(i.inFlight).toBe(2);
    i.dec(1250);
    i.dec(1250); // 2 for 250 ms, then 0
    expect(i.sample(2000)).toBe(0.5);
  });

  it('counts short requests that start and end between samples, and the peak', () => {
    const i = new InFlightIntegrator(0);
    for (let k = 0; k < 10; k++) {
      i.inc(k * 100);
      i.dec(k * 100 + 50);
    }
    expect(i.peakSinceSample).toBe(1);
    expect(i.sample(1000)).toBe(0.5); // 10 × 50 ms busy in 1000 ms
    expect(i.sample(2000)).toBe(0);
  });

  it('ignores a clock stepping backwards and never goes negative', () => {
    const i = new InFlightIntegrator(1000);
    i.inc(1000);
    i.dec(900);
    i.dec(900);
    expect(i.inFlight).toBe(0);
    expect(i.sample(1000)).toBe(0);
  });
});

describe('SecondWindow episodes', () => {
  it('counts a wake-up burst at full weight after idle seconds were recorded as zero', () => {
    const w = new SecondWindow(60);
    for (let s = 0; s < 40; s++) w.record(s * 1000, 0);
    w.startEpisode(40_000);
    w.record(40_000, 200);
    // 6 s panic window: only the woken second counts, not five seconds of zero before it
    expect(w.average(40_500, 6000)).toBe(200);
    expect(w.average(40_500, 60_000)).toBe(200);
    w.record(41_000, 100);
    expect(w.average(41_500, 6000)).toBe(150);
  });
});
