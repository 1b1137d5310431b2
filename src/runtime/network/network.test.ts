import { describe, expect, it } from 'vitest';
import { contains, instanceAddress, parseRange } from './cidr.js';
import { googleEnv, hostsFile } from './hosts.js';

describe('address range', () => {
  it('keeps the gateway first and hands out the rest', () => {
    const r = parseRange('10.213.0.0/16');
    expect(r.gateway).toBe('10.213.0.1');
    expect(instanceAddress(r, 0)).toBe('10.213.0.2');
    expect(instanceAddress(r, 300)).toBe('10.213.1.46');
    expect(r.capacity).toBe(65533);
    expect(contains(r, '10.213.255.255')).toBe(true);
    expect(contains(r, '10.214.0.1')).toBe(false);
    expect(() => instanceAddress(parseRange('10.9.9.0/29'), 5)).toThrow(/no free address/);
  });

  it('fails closed on ranges it cannot use', () => {
    expect(() => parseRange('10.213.0.1/16')).toThrow(/host bits set; did you mean 10.213.0.0\/16/);
    expect(() => parseRange('127.0.0.0/8')).toThrow(/not usable/);
    expect(() => parseRange('10.0.0.0/30')).toThrow(/\/8 to \/29/);
    expect(() => parseRange('nonsense')).toThrow(/network.cidr/);
  });
});

describe('what an instance sees', () => {
  it('maps service host names to the gateway, one per line', () => {
    const text = hostsFile({ hostname: 'hello-1', address: '10.213.0.2', gateway: '10.213.0.1', names: ['b.localhost', 'a.localhost', 'BAD NAME', 'a.localhost'] });
    expect(text.split('\n')).toEqual(['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '10.213.0.2\thello-1', '10.213.0.1\tkumo.internal', '10.213.0.1\ta.localhost', '10.213.0.1\tb.localhost', '']);
  });

  it('points Google client libraries at kumo', () => {
    const env = googleEnv({ project: 'p', host: '10.213.0.1', routerPort: 8080, apiPort: 8085 });
    expect(env).toMatchObject({ GOOGLE_CLOUD_PROJECT: 'p', PUBSUB_EMULATOR_HOST: '10.213.0.1:8085', PUBSUB_PROJECT_ID: 'p', KUMO_API_HOST: '10.213.0.1', KUMO_API_PORT: '8085' });
  });
});
