import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { call, deployHello, HELLO_DIR, instances, removeHome, startKumo, uniqueName, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

let k: KumoServer;
beforeAll(async () => {
  k = await startKumo(['--idle-grace', '1500ms', '--max-queue-wait', '1s']);
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

describe('scaling', () => {
  it('scales to zero after the idle grace, and the next request starts an instance', async () => {
    const name = uniqueName('zero');
    deployHello(k, name);
    // the deployment probe's instance serves, then goes idle
    await waitFor('scale to zero', () => instances(k, name), (i) => i.length === 0, 15_000);
    const r = await call(k, `${name}.localhost`);
    expect(r.status).toBe(200);
    expect(r.body).toContain(`revision ${name}-00001-`);
    const now = await instances(k, name);
    expect(now).toHaveLength(1);
    expect(now[0]?.startReason).toBe('request');
    const logs = k.cli(['run', 'services', 'logs', 'read', name, '--limit', '50']).stdout;
    expect(logs).toContain('Starting new instance. Reason: DEPLOYMENT');
    expect(logs).toContain('Starting new instance. Reason: AUTOSCALING');
    expect(logs).toMatch(/Instance .* stopped/);
  });

  it('starts more instances when concurrent requests exceed --concurrency', async () => {
    const name = uniqueName('wide');
    deployHello(k, name, ['--concurrency', '2', '--max-instances', '5']);
    const replies = await Promise.all(Array.from({ length: 6 }, () => call(k, `${name}.localhost`, '/slow?ms=800')));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const pids = new Set(replies.map((r) => /pid (\d+)/.exec(r.body)?.[1]));
    expect(pids.size).toBe(3);
  });

  it('answers 429 with Retry-After when max instances stay busy', async () => {
    const name = uniqueName('capped');
    deployHello(k, name, ['--concurrency', '1', '--max-instances', '1', '--timeout', '10']);
    const a = call(k, `${name}.localhost`, '/slow?ms=2500');
    await new Promise((r) => setTimeout(r, 200));
    const b = await call(k, `${name}.localhost`, '/');
    expect(b.status).toBe(429);
    expect(b.headers['retry-after']).toBe('1');
    expect(b.body).toContain('maximum of 1 instance(s), all busy');
    expect(b.ms).toBeGreaterThanOrEqual(900);
    expect((await a).status).toBe(200);
    expect((await call(k, `${name}.localhost`, '/')).status).toBe(200);
  });

  it('answers 504 past the request timeout and aborts the upstream request', async () => {
    const name = uniqueName('late');
    deployHello(k, name, ['--timeout', '1']);
    const r = await call(k, `${name}.localhost`, '/slow?ms=5000');
    expect(r.status).toBe(504);
    expect(r.body).toContain('longer than its timeout of 1 s');
    expect(r.ms).toBeLessThan(3000);
    // the slot was released: the instance takes the next request at once
    expect((await call(k, `${name}.localhost`, '/')).status).toBe(200);
  });

  it('answers 503 with the reason when an instance fails to start for a request', async () => {
    // starts fine the first time (the deploy), then every later start fails
    const dir = mkdtempSync(join(tmpdir(), 'kumo-flaky-'));
    const marker = join(dir, 'started-once');
    writeFileSync(
      join(dir, 'server.js'),
      `const fs = require('fs');
       if (fs.existsSync(${JSON.stringify(marker)})) { console.error('database password is wrong'); process.exit(4); }
       fs.writeFileSync(${JSON.stringify(marker)}, '1');
       require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);`,
    );
    const name = deployHello(k, uniqueName('flaky'), ['--source', dir]);
    await waitFor('scale to zero', () => instances(k, name), (i) => i.length === 0, 15_000);
    const r = await call(k, `${name}.localhost`);
    expect(r.status).toBe(503);
    expect(r.body).toContain('instance failed to start: the app exited with code 4 before it listened');
    expect(r.body).toContain('database password is wrong');
  });

  it('keeps min instances warm', async () => {
    const name = uniqueName('warm');
    deployHello(k, name, ['--min-instances', '2']);
    await waitFor('two warm instances', () => instances(k, name), (i) => i.filter((x) => x.state === 'ready').length === 2, 15_000);
    await new Promise((r) => setTimeout(r, 3000)); // past the idle grace
    expect((await instances(k, name)).filter((x) => x.state === 'ready')).toHaveLength(2);
    const logs = k.cli(['run', 'services', 'logs', 'read', name]).stdout;
    expect(logs).toContain('Reason: MANUAL_OR_CUSTOMER_MIN_INSTANCE');
  });
});

describe('host capacity', () => {
  it('never starts more instances than the memory budget holds, and says so', async () => {
    // a budget that holds one 512 MiB instance and not two
    const share = (700 * 1024 ** 2) / totalmem();
    const small = await startKumo(['--host-memory-share', share.toFixed(6), '--idle-grace', '60s', '--max-queue-wait', '1s']);
    try {
      const a = deployHello(small, uniqueName('fits'), ['--concurrency', '1']);
      const b = small.cli(['run', 'deploy', uniqueName('nofit'), '--source', HELLO_DIR]);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain('the host has no room for another 512 MiB instance');
      const slow = call(small, `${a}.localhost`, '/slow?ms=2500');
      await new Promise((r) => setTimeout(r, 200));
      const refused = await call(small, `${a}.localhost`, '/');
      expect(refused.status).toBe(429);
      expect(refused.body).toContain('the host is at capacity: no room for another 512 MiB instance');
      expect(refused.headers['retry-after']).toBe('5');
      expect((await slow).status).toBe(200);
    } finally {
      await small.stop();
      removeHome(small);
    }
  });
});
