import { describe, expect, it } from 'vitest';
import { serverConfig } from './config.js';

describe('serverConfig', () => {
  it('takes flags over env over defaults', () => {
    const c = serverConfig(['--port', '9090', '--idle-grace', '2s'], { KUMO_PORT: '7000', KUMO_API_PORT: '7001', KUMO_HOME: '/tmp/k' });
    expect(c).toMatchObject({ port: 9090, apiPort: 7001, home: '/tmp/k', idleGraceMs: 2000, host: '127.0.0.1', runtime: 'auto', stopGraceMs: 10_000 });
  });

  it('fails closed, naming the key and range', () => {
    expect(() => serverConfig(['--idle-grace', 'soon'], {})).toThrow(/--idle-grace must be a duration .* got "soon"/);
    expect(() => serverConfig(['--port', '70000'], {})).toThrow(/--port must be a port from 0 to 65535/);
    expect(() => serverConfig(['--runtime', 'vm'], {})).toThrow(/--runtime must be process, runc, docker or auto/);
    expect(() => serverConfig(['--host-memory-share', '2'], {})).toThrow(/--host-memory-share/);
    expect(() => serverConfig([], { KUMO_PORT: 'eighty' })).toThrow(/--port must be a port/);
    expect(() => serverConfig(['--bogus'], {})).toThrow(/unknown flag --bogus/);
    expect(() => serverConfig(['--network-cidr', '10.213.0.0/33'], {})).toThrow(/--network-cidr "10.213.0.0\/33" must be an IPv4 range/);
  });

  it('takes the instance network range from --network-cidr or KUMO_NETWORK_CIDR', () => {
    expect(serverConfig([], {}).networkCidr).toBe('10.213.0.0/16');
    expect(serverConfig([], { KUMO_NETWORK_CIDR: '10.214.0.0/24' }).networkCidr).toBe('10.214.0.0/24');
    expect(serverConfig(['--network-cidr', '10.215.0.0/24'], { KUMO_NETWORK_CIDR: '10.214.0.0/24' }).networkCidr).toBe('10.215.0.0/24');
  });
});
