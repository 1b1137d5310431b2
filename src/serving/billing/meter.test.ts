import { describe, expect, it } from 'vitest';
import { BillingMeter, resolveBillingMode } from './meter.js';
import type { InstanceBillingInfo, UsageRecord } from './meter.js';

const GIB = 1024 ** 3;

function info(over: Partial<InstanceBillingInfo> = {}): InstanceBillingInfo {
  return { service: 'hello', revision: 'hello-00001', instanceId: 'i1', mode: 'request', cpuMillis: 1000, memoryBytes: 512 * 1024 ** 2, ...over };
}

const billed = (records: UsageRecord[]): number => records.reduce((n, r) => n + r.billableMs, 0);

describe('BillingMeter, request-based', () => {
  it('bills 10 requests overlapping within one second as one second, not ten', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info(), 0);
    m.ready(0); // a zero-length startup still bills one unit
    expect(billed(meter.flush(1))).toBe(100);
    // Ten requests, each starting in the first 100 ms and ending by 1000 ms; the first starts at
    // 10_000 and the last ends at 11_000 → one busy period of exactly 1000 ms.
    for (let i = 0; i < 10; i++) m.requestStarted(10_000 + i * 10);
    for (let i = 0; i < 10; i++) m.requestEnded(10_910 + i * 10);
    const records = meter.flush(20_000);
    expect(billed(records)).toBe(1000);
    expect(records[0]?.requests).toBe(10);
    expect(records[0]?.vcpuSeconds).toBe(1);
    expect(records[0]?.gibSeconds).toBe(0.5);
  });

  it('bills startup and shutdown, and rounds each busy period up to 100 ms', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info({ cpuMillis: 2000, memoryBytes: 2 * GIB }), 1000);
    m.ready(1250); // startup 250 ms
    m.requestStarted(1250); // continues the startup period: 1000..1290 = 290 → 300
    m.requestEnded(1290);
    m.requestStarted(5000); // 5000..5001 = 1 ms → 100
    m.requestEnded(5001);
    m.stopping(9000); // shutdown 9000..9420 = 420 → 500
    m.stopped(9420);
    const records = meter.flush(10_000);
    expect(billed(records)).toBe(300 + 100 + 500);
    expect(records[0]?.vcpuSeconds).toBeCloseTo(0.9 * 2);
    expect(records[0]?.gibSeconds).toBeCloseTo(0.9 * 2);
    expect(records[0]?.requests).toBe(2);
    // Stopped instances are forgotten after the flush.
    expect(meter.get('i1')).toBeUndefined();
  });

  it('does not bill an idle instance between requests', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info(), 0);
    m.ready(100);
    expect(billed(meter.flush(60_000))).toBe(100); // only the startup
    m.requestStarted(60_000);
    m.requestEnded(60_050);
    expect(billed(meter.flush(120_000))).toBe(100);
  });

  it('back-to-back requests form one period; a zero-length request bills one unit', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info(), 0);
    m.ready(0);
    meter.flush(1);
    m.requestStarted(1000);
    m.requestEnded(1150);
    m.requestStarted(1150); // resumes at the same instant: one period 1000..1300
    m.requestEnded(1300);
    m.requestStarted(2000);
    m.requestEnded(2000);
    expect(billed(meter.flush(3000))).toBe(300 + 100);
  });

  it('an open period is flushed in whole units and rounded up only when it closes', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info(), 0);
    m.ready(0);
    expect(billed(meter.flush(1))).toBe(100);
    m.requestStarted(1000);
    expect(billed(meter.flush(1250))).toBe(200); // 250 ms so far → 2 whole units
    expect(billed(meter.flush(1260))).toBe(0);
    m.requestEnded(1310); // 310 ms → 400 in total
    expect(billed(meter.flush(1400))).toBe(200);
  });

  it('ignores requests after the instance stopped and time that runs backwards', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info(), 1000);
    m.ready(900); // backwards: treated as 1000, a zero-length startup → 100
    m.stopped(1000);
    m.requestStarted(2000);
    const records = meter.flush(3000);
    expect(billed(records)).toBe(100);
    expect(records[0]?.requests).toBe(0);
  });
});

describe('BillingMeter, instance ids', () => {
  it('keeps the usage of a stopped instance whose id is reused before the flush', () => {
    const meter = new BillingMeter();
    const a = meter.instanceStarting(info(), 0);
    a.ready(100);
    a.stopped(100);
    const b = meter.instanceStarting(info(), 200);
    b.ready(500);
    expect(billed(meter.flush(1000))).toBe(100 + 300);
  });
});

describe('BillingMeter, instance-based', () => {
  it('bills the whole lifetime, idle or not', () => {
    const meter = new BillingMeter();
    const m = meter.instanceStarting(info({ mode: 'instance' }), 0);
    m.ready(300);
    m.requestStarted(1000);
    m.requestEnded(1010);
    expect(billed(meter.flush(30_050))).toBe(30_000); // open: whole units so far
    m.stopping(60_000);
    m.stopped(60_001);
    expect(billed(meter.flush(70_000))).toBe(30_100); // 60_001 → 60_100 in total
  });
});

describe('resolveBillingMode', () => {
  it('reads run.googleapis.com/cpu-throttling', () => {
    expect(resolveBillingMode(undefined).mode).toBe('request');
    expect(resolveBillingMode({ 'run.googleapis.com/cpu-throttling': 'false' }).mode).toBe('instance');
    const bad = resolveBillingMode({ 'run.googleapis.com/cpu-throttling': 'no' });
    expect(bad.violations[0]?.field).toBe('spec.template.metadata.annotations["run.googleapis.com/cpu-throttling"]');
  });
});
