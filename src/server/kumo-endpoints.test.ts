import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KumoError } from '../shared/errors.js';
import { kumoEndpoints } from './kumo-endpoints.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(metricsOpen: boolean, hostPeer: boolean): Promise<string> {
  const handler = kumoEndpoints({
    api: (_req, res) => res.end('api'),
    registry: (_req, res) => res.end('registry'),
    web: (_req, res) => res.end('web'),
    prometheus: () => 'run_googleapis_com:request_count{service_name="private-one"} 1\n',
    authenticate: (t) => {
      if (t !== 'good') throw new KumoError('PERMISSION_DENIED', 'bad token');
    },
    metricsOpen,
    hostPeer: () => hostPeer,
  });
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe("/metrics on kumo's own endpoints", () => {
  it.each([
    // metricsOpen, host peer, token → status
    [false, true, undefined, 401],
    [false, true, 'good', 200],
    [false, true, 'bad', 403],
    [true, true, undefined, 200],
    [true, false, undefined, 401], // an instance, or a peer kumo cannot attribute
    [true, false, 'good', 200],
  ] as const)('metricsOpen=%s hostPeer=%s token=%s → %i', async (open, host, token, status) => {
    const url = await serve(open, host);
    const r = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect(r.status).toBe(status);
    const text = await r.text();
    if (status === 200) expect(text).toContain('private-one');
    else expect(text).not.toContain('private-one');
  });

  it('hands every other path to the dashboard, /api to the API and /v2 to the registry', async () => {
    const url = await serve(false, true);
    expect(await (await fetch(`${url}/`)).text()).toBe('web');
    expect(await (await fetch(`${url}/services/x`)).text()).toBe('web');
    expect(await (await fetch(`${url}/api/services`)).text()).toBe('api');
    expect(await (await fetch(`${url}/v2/`)).text()).toBe('registry');
    expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok\n');
  });
});
