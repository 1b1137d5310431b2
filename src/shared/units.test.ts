import { describe, expect, it } from 'vitest';
import { formatCpu, formatMemory, parseCpuMillis, parseDurationMs, parseMemoryBytes } from './units.js';

describe('units', () => {
  it('reads durations with and without units', () => {
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('300')).toBe(300_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('-1s')).toBeUndefined();
  });

  it('reads memory quantities', () => {
    expect(parseMemoryBytes('512Mi')).toBe(512 * 1024 * 1024);
    expect(parseMemoryBytes('1Gi')).toBe(1024 ** 3);
    expect(parseMemoryBytes('1G')).toBe(1e9);
    expect(parseMemoryBytes('12 parsecs')).toBeUndefined();
    expect(formatMemory(512 * 1024 * 1024)).toBe('512Mi');
    expect(formatMemory(2 * 1024 ** 3)).toBe('2Gi');
  });

  it('reads cpu quantities', () => {
    expect(parseCpuMillis('1')).toBe(1000);
    expect(parseCpuMillis('0.08')).toBe(80);
    expect(parseCpuMillis('500m')).toBe(500);
    expect(parseCpuMillis('one')).toBeUndefined();
    expect(formatCpu(1000)).toBe('1');
    expect(formatCpu(500)).toBe('500m');
  });
});
