import { describe, expect, it } from 'vitest';
import { runtimeConfig } from './bundle.js';
import { exitStatus, formatLimit } from './host.js';

const base = {
  process: { args: ['/app'], env: ['PORT=8080'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] } },
  hostname: 'h',
  cgroupsPath: '/kumo-abc/i/c',
  hostsFile: '/b/hosts',
  resolvConf: '/b/resolv.conf',
  shmBytes: 1024,
  hooks: [{ path: '/bin/sh', args: ['sh'] }],
  maxOpenFiles: 1024,
  annotations: {},
};

describe('runtimeConfig', () => {
  it('joins the prepared network namespace, or shares the host network', () => {
    const iso = runtimeConfig({ ...base, netnsPath: '/run/netns/kumo-abc-1' }) as { linux: { namespaces: { type: string; path?: string }[] } };
    expect(iso.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/kumo-abc-1' });
    const host = runtimeConfig({ ...base, netnsPath: undefined }) as { linux: { namespaces: { type: string }[] } };
    expect(host.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'pid', 'uts']);
  });
  it('drops NET_RAW and holds the app at the start gate', () => {
    const c = runtimeConfig({ ...base, netnsPath: undefined }) as { process: { capabilities: { bounding: string[] } }; hooks: { prestart: unknown[] } };
    expect(c.process.capabilities.bounding).not.toContain('CAP_NET_RAW');
    expect(c.process.capabilities.bounding).not.toContain('CAP_NET_ADMIN');
    expect(c.hooks.prestart).toHaveLength(1);
  });
});

describe('exit statuses', () => {
  it('reads 128+N as a signal', () => {
    expect(exitStatus(137, null)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(exitStatus(143, null)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(exitStatus(3, null)).toEqual({ code: 3, signal: null });
    expect(exitStatus(null, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  });
  it('formats limits as Cloud Run says them', () => {
    expect(formatLimit(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatLimit(2 * 1024 ** 3)).toBe('2 GiB');
  });
});
