import { describe, expect, it } from 'vitest';
import { healthAfterExit } from './revision-health.js';

describe('healthAfterExit', () => {
  it('names a memory kill, whatever kumo expected', () => {
    const exit = { code: null, signal: 'SIGKILL', oomKilled: true, reason: 'exceeded memory limit of 128 MiB' };
    for (const expected of [true, false]) {
      expect(healthAfterExit('i-1', exit, expected)).toEqual({
        status: 'False',
        reason: 'OOMKilled',
        message: 'Instance i-1 was terminated: exceeded memory limit of 128 MiB. Raise --memory.',
      });
    }
  });

  it('names a crash by exit code or signal, and a stop kumo asked for as healthy', () => {
    expect(healthAfterExit('i-2', { code: 3, signal: null, oomKilled: false, reason: 'exited with code 3' }, false)).toEqual({
      status: 'False',
      reason: 'ExitCode3',
      message: 'Instance i-2 crashed: it exited with code 3',
    });
    expect(healthAfterExit('i-3', { code: null, signal: 'SIGSEGV', oomKilled: false, reason: 'was killed by SIGSEGV' }, false).reason).toBe('SignalSIGSEGV');
    expect(healthAfterExit('i-4', { code: 0, signal: null, oomKilled: false, reason: 'exited with code 0' }, true)).toEqual({ status: 'True' });
  });
});
