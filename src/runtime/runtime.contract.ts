/**
 * One contract for every Runtime adapter (process, runc, docker). Each adapter's test file calls
 * `runtimeContract` with a factory; a runtime missing from the machine passes `skip` with the
 * reason, which is printed.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Instance, InstanceSpec, Runtime } from './runtime.js';

export interface ContractFixture {
  name: string;
  /** Why this runtime cannot be tested here, or undefined to run the suite. */
  skip?: string;
  create(): Promise<{
    runtime: Runtime;
    /** A second Runtime over the same state, as a restarted server would build it. */
    reopen: () => Promise<Runtime>;
    cleanup: () => Promise<void>;
  }>;
  /** A workload that runs `node` with this program text as its main file. */
  workload(programJs: string): Promise<InstanceSpec['workload']>;
}

/** An HTTP server that reports its env and can be told to burn CPU or ignore SIGTERM. */
export const CONTRACT_APP = `
const http = require('http');
const ignoreTerm = process.env.IGNORE_SIGTERM === '1';
process.on('SIGTERM', () => { console.log('got SIGTERM'); if (!ignoreTerm) process.exit(0); });
console.log('starting on ' + process.env.PORT);
console.error('a line on stderr');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ port: process.env.PORT, service: process.env.K_SERVICE, revision: process.env.K_REVISION, configuration: process.env.K_CONFIGURATION, custom: process.env.CUSTOM }));
}).listen(Number(process.env.PORT), '0.0.0.0');
`;

export function getJson(host: string, port: number, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

let seq = 0;
export function contractSpec(workload: InstanceSpec['workload'], overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  seq++;
  return {
    instanceId: `contract-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 7)}`,
    service: 'contract',
    revision: 'contract-00001-abc',
    configuration: 'contract',
    workload,
    env: { K_SERVICE: 'contract', K_REVISION: 'contract-00001-abc', K_CONFIGURATION: 'contract', CUSTOM: 'yes' },
    containerPort: 8080,
    cpuMillis: 1000,
    memoryBytes: 256 * 1024 * 1024,
    startupTimeoutMs: 10_000,
    network: 'isolated',
    ...overrides,
  };
}

export function runtimeContract(f: ContractFixture): void {
  const suite = f.skip ? describe.skip : describe;
  if (f.skip) console.log(`runtime contract for ${f.name} skipped: ${f.skip}`);

  suite(`Runtime contract: ${f.name}`, () => {
    async function withRuntime(fn: (rt: Runtime, reopen: () => Promise<Runtime>) => Promise<void>): Promise<void> {
      const { runtime, reopen, cleanup } = await f.create();
      try {
        await fn(runtime, reopen);
      } finally {
        await cleanup();
      }
    }

    it('starts an instance that listens on PORT with the contract env, and streams its lines', async () => {
      await withRuntime(async (rt) => {
        const lines: string[] = [];
        const inst = await rt.start(contractSpec(await f.workload(CONTRACT_APP)), {
          log: (stream, line) => lines.push(`${stream}:${line}`),
        });
        await inst.ready;
        expect(inst.timings.readyAt).toBeGreaterThanOrEqual(inst.timings.requestedAt);
        const body = await getJson(inst.endpoint.host, inst.endpoint.port);
        expect(body).toMatchObject({ service: 'contract', revision: 'contract-00001-abc', configuration: 'contract', custom: 'yes' });
        expect(Number(body.port)).toBeGreaterThan(0);
        expect(lines).toContain(`stdout:starting on ${String(body.port)}`);
        expect(lines).toContain('stderr:a line on stderr');
        const exit = await rt.stop(inst.id, 5000);
        expect(exit?.code === 0 || exit?.signal === 'SIGTERM').toBe(true);
        expect(lines).toContain('stdout:got SIGTERM');
      });
    });

    it('SIGKILLs an instance that ignores SIGTERM once the deadline passes', async () => {
      await withRuntime(async (rt) => {
        const spec = contractSpec(await f.workload(CONTRACT_APP));
        spec.env.IGNORE_SIGTERM = '1';
        const inst = await rt.start(spec, { log: () => undefined });
        await inst.ready;
        const t0 = Date.now();
        const exit = await rt.stop(inst.id, 300);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
        expect(exit?.signal).toBe('SIGKILL');
      });
    });

    it('rejects ready with the reason when the app exits before listening', async () => {
      await withRuntime(async (rt) => {
        const inst = await rt.start(contractSpec(await f.workload("console.error('boom'); process.exit(3);")), { log: () => undefined });
        await expect(inst.ready).rejects.toThrow(/exited with code 3/);
        expect((await inst.exited).code).toBe(3);
      });
    });

    it('rejects ready when the app never listens within the startup timeout', async () => {
      await withRuntime(async (rt) => {
        const inst = await rt.start(contractSpec(await f.workload('setInterval(() => {}, 1000);'), { startupTimeoutMs: 500 }), {
          log: () => undefined,
        });
        await expect(inst.ready).rejects.toThrow(/did not listen on PORT=\d+ within/);
        await rt.stop(inst.id, 1000);
      });
    });

    it('freezes and thaws an instance', async () => {
      await withRuntime(async (rt) => {
        const inst: Instance = await rt.start(contractSpec(await f.workload(CONTRACT_APP)), { log: () => undefined });
        await inst.ready;
        await rt.freeze(inst.id);
        await expect(getJson(inst.endpoint.host, inst.endpoint.port, 300)).rejects.toThrow();
        await rt.thaw(inst.id);
        await expect(getJson(inst.endpoint.host, inst.endpoint.port)).resolves.toMatchObject({ service: 'contract' });
        await rt.freeze(inst.id);
        // a frozen instance still stops promptly: stop thaws it first
        const exit = await rt.stop(inst.id, 5000);
        expect(exit).toBeDefined();
      });
    });

    it('lets a restarted server find and remove what a crashed one left behind', async () => {
      await withRuntime(async (rt, reopen) => {
        const inst = await rt.start(contractSpec(await f.workload(CONTRACT_APP)), { log: () => undefined });
        await inst.ready;
        const later = await reopen();
        const seen = await later.list();
        expect(seen).toContainEqual(expect.objectContaining({ instanceId: inst.id, running: true }));
        await later.remove(inst.id);
        await inst.exited;
        await expect(getJson(inst.endpoint.host, inst.endpoint.port, 300)).rejects.toThrow();
        expect((await later.list()).map((i) => i.instanceId)).not.toContain(inst.id);
        await later.close();
      });
    });

    it('runs two instances of one spec side by side, each on its own endpoint', async () => {
      await withRuntime(async (rt) => {
        const workload = await f.workload(CONTRACT_APP);
        const a = await rt.start(contractSpec(workload), { log: () => undefined });
        const b = await rt.start(contractSpec(workload), { log: () => undefined });
        await Promise.all([a.ready, b.ready]);
        expect(`${a.endpoint.host}:${a.endpoint.port}`).not.toBe(`${b.endpoint.host}:${b.endpoint.port}`);
        await expect(getJson(a.endpoint.host, a.endpoint.port)).resolves.toMatchObject({ service: 'contract' });
        await expect(getJson(b.endpoint.host, b.endpoint.port)).resolves.toMatchObject({ service: 'contract' });
        await rt.stop(a.id, 2000);
        // stopping one leaves the other serving
        await expect(getJson(b.endpoint.host, b.endpoint.port)).resolves.toMatchObject({ service: 'contract' });
        await rt.stop(b.id, 2000);
      });
    });

    it('reports CPU and memory use of a running instance, when it has stats', async () => {
      await withRuntime(async (rt) => {
        if (!rt.stats) return;
        const inst = await rt.start(contractSpec(await f.workload(CONTRACT_APP)), { log: () => undefined });
        await inst.ready;
        for (let i = 0; i < 20; i++) await getJson(inst.endpoint.host, inst.endpoint.port);
        const s = rt.stats(inst.id);
        expect(s?.memoryBytes).toBeGreaterThan(1024 * 1024);
        expect(s?.cpuUsageUsec).toBeGreaterThan(1000);
        await rt.stop(inst.id, 2000);
      });
    });

    it('answers stop and remove for an instance it does not know without harm', async () => {
      await withRuntime(async (rt) => {
        await expect(rt.stop('contract-never-started', 100)).resolves.toBeUndefined();
        await expect(rt.remove('contract-never-started')).resolves.toBeUndefined();
      });
    });
  });
}
