/**
 * `--api-open` is for the user's own processes on the machine, never for kumo's instances, even on
 * the process runtime where an instance is itself a host process calling from 127.0.0.1: kumo
 * looks at who owns the peer socket. And `--allow-host-network` is what lets a revision ask for
 * the host's network.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerApp } from '../containers/app.js';
import { api, call, removeHome, startKumo } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

const PARENT = 'projects/kumo-project/locations/us-central1';
let k: KumoServer;
let dir = '';

beforeAll(async () => {
  k = await startKumo(['--api-open', '--allow-host-network']);
  dir = mkdtempSync(join(tmpdir(), 'kumo-caller-'));
  writeFileSync(join(dir, 'server.js'), containerApp('v1'));
  const r = k.cli(['run', 'deploy', 'caller', '--source', dir, '--allow-unauthenticated']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
  rmSync(dir, { recursive: true, force: true });
});

describe('--api-open on the process runtime', () => {
  it("refuses a token-less call from an instance on 127.0.0.1, naming the instance", async () => {
    const url = `http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services`;
    const r = JSON.parse((await call(k, 'caller.localhost', `/call?url=${encodeURIComponent(url)}`)).body) as { status: number; body: string };
    expect(r.status).toBe(401);
    expect(r.body).toContain('--api-open admits token-less calls only from processes on its own machine');
    expect(r.body).toMatch(/instance caller-\S+ of revision caller-/);
  });

  it('refuses token-less gRPC from an instance too', async () => {
    // ListServicesRequest { parent = 1 }
    const message = Buffer.concat([Buffer.from([0x0a, PARENT.length]), Buffer.from(PARENT)]);
    const q = new URLSearchParams({ host: '127.0.0.1', port: String(k.apiPort), path: '/google.cloud.run.v2.Services/ListServices', body: message.toString('base64') });
    const r = JSON.parse((await call(k, 'caller.localhost', `/grpc?${q.toString()}`)).body) as { status?: number; message?: string };
    expect(r.status).toBe(16);
    expect(r.message).toContain('caller');
  });

  it('answers the same token-less call from a host process', async () => {
    const r = await fetch(`http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services`);
    expect(r.status).toBe(200);
  });
});

describe('--allow-host-network', () => {
  it('lets a revision ask for the host network, and warns at start', async () => {
    const r = k.cli(['run', 'deploy', 'hostnet', '--source', dir, '--network', 'host', '--allow-unauthenticated']);
    expect(r.code, r.stderr).toBe(0);
    expect((await call(k, 'hostnet.localhost', '/')).status).toBe(200);
    const svc = await api<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>(k, 'GET', '/api/services/hostnet');
    expect(svc.json.spec.template.metadata.annotations['kumo.dev/network']).toBe('host');
    expect(k.output()).toContain('--allow-host-network: revisions may run on this machine');
  });
});
