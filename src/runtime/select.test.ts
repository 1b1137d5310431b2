import { describe, expect, it } from 'vitest';
import { decideRuntime, runtimeForDeploy } from './select.js';
import type { MachineFacts } from './select.js';

const linuxRoot: MachineFacts = { platform: 'linux', uid: 0, runc: '/usr/sbin/runc', cgroupProblem: undefined, dockerSocket: '/var/run/docker.sock' };

describe('decideRuntime', () => {
  it('prefers runc, then Docker, then process', () => {
    expect(decideRuntime(undefined, linuxRoot).kind).toBe('runc');
    expect(decideRuntime(undefined, { ...linuxRoot, uid: 1000 })).toMatchObject({ kind: 'docker', reason: expect.stringContaining('runc needs kumo to run as root') as unknown });
    expect(decideRuntime(undefined, { ...linuxRoot, runc: undefined, dockerSocket: undefined })).toMatchObject({ kind: 'process', reason: expect.stringContaining('apt-get install runc') as unknown });
    expect(decideRuntime(undefined, { ...linuxRoot, platform: 'darwin', dockerSocket: undefined }).kind).toBe('process');
  });

  it('honours a request, or says why it cannot', () => {
    expect(decideRuntime('process', linuxRoot).kind).toBe('process');
    expect(decideRuntime('docker', linuxRoot).kind).toBe('docker');
    expect(() => decideRuntime('runc', { ...linuxRoot, cgroupProblem: 'no freezer' })).toThrow(/--runtime runc cannot be used: no freezer/);
    expect(() => decideRuntime('docker', { ...linuxRoot, dockerSocket: undefined })).toThrow(/start dockerd/);
  });
});

describe('runtimeForDeploy', () => {
  const all = new Set(['runc', 'docker', 'process'] as const);
  it('runs images on the server runtime or the service override', () => {
    expect(runtimeForDeploy({ server: 'runc', available: all, workload: 'image' })).toEqual({ kind: 'runc' });
    expect(runtimeForDeploy({ server: 'runc', available: all, override: 'docker', workload: 'image' })).toEqual({ kind: 'docker' });
  });
  it('keeps source deploys on process and says so', () => {
    expect(runtimeForDeploy({ server: 'runc', available: all, workload: 'source' })).toMatchObject({ kind: 'process', note: expect.stringContaining('until kumo can build images') as unknown });
  });
  it('refuses images without a container runtime, naming what to install', () => {
    expect(() => runtimeForDeploy({ server: 'process', available: new Set(['process'] as const), workload: 'image' })).toThrow(/apt-get install runc/);
    expect(() => runtimeForDeploy({ server: 'runc', available: new Set(['runc', 'process'] as const), override: 'docker', workload: 'image' })).toThrow(/not available/);
  });
});
