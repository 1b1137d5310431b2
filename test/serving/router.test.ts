import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { call, deployHello, instances, removeHome, startKumo, uniqueName, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

let k: KumoServer;
let svc: string;
beforeAll(async () => {
  k = await startKumo(['--idle-grace', '60s']);
  svc = deployHello(k, uniqueName('route'));
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

describe('router', () => {
  it('tells an unknown host how to list services', async () => {
    const r = await call(k, 'no-such-service.localhost');
    expect(r.status).toBe(404);
    expect(r.body).toContain('no service named "no-such-service"');
    expect(r.body).toContain('kumo run services list');
  });

  it('sets forwarding headers and drops hop-by-hop ones', async () => {
    const r = await call(k, `${svc}.localhost`, '/headers', {
      headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-private', 'x-private': 'secret', te: 'trailers' },
    });
    const h = JSON.parse(r.body) as Record<string, string>;
    expect(h['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`${svc}.localhost:${k.port}`);
    expect(h['forwarded']).toBe(`for=127.0.0.1;host=${svc}.localhost:${k.port};proto=http`);
    expect(h['x-private']).toBeUndefined();
    expect(h['te']).toBeUndefined();
  });

  it('streams request bodies both ways and refuses bodies over 32 MiB with 413', async () => {
    const body = 'x'.repeat(5 * 1024 * 1024);
    const ok = await call(k, `${svc}.localhost`, '/echo', { method: 'POST', body });
    expect(JSON.parse(ok.body)).toMatchObject({ bytes: body.length });
    const big = await call(k, `${svc}.localhost`, '/echo', { method: 'POST', headers: { 'content-length': String(33 * 1024 * 1024) }, body: '' }).catch((e: Error) => e);
    expect(big instanceof Error ? 'connection closed' : big.status).toBe(413);
    // a chunked body that grows past the limit is cut off as well
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: k.port, path: '/echo', method: 'POST', headers: { host: `${svc}.localhost` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 97);
      let sent = 0;
      const pump = () => {
        while (sent < 40) {
          sent++;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(chunked).toBe(413);
  });

  it('answers Expect: 100-continue itself (curl sends it for large bodies)', () => {
    const r = spawnSync('curl', ['-s', '-H', `Host: ${svc}.localhost`, '-H', 'Expect: 100-continue', '--data-binary', 'hello', `http://127.0.0.1:${k.port}/echo`], { encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toMatchObject({ bytes: 5, body: 'hello' });
  });

  it('passes server-sent events through as they are produced', async () => {
    const arrivals: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: k.port, path: '/stream?count=4&every=300', headers: { host: `${svc}.localhost` } }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.on('data', (c: Buffer) => {
          for (const line of c.toString().split('\n')) if (line.startsWith('data:')) arrivals.push(Date.now());
        });
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    expect(arrivals).toHaveLength(4);
    // unbuffered: the events arrive spread out, not all at the end
    expect((arrivals[3] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(700);
  });

  it('passes WebSocket upgrades through', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${k.port}/ws`, { headers: { host: `${svc}.localhost` } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping'));
      ws.on('message', (m: Buffer) => resolve(m.toString()));
      ws.on('error', reject);
    });
    expect(reply).toMatch(new RegExp(`^${svc}-00001-[a-z0-9]{3}: ping$`));
    ws.close();
  });

  it('answers 502 when the instance dies mid-request, and replaces it', async () => {
    const name = deployHello(k, uniqueName('dies'));
    const env = JSON.parse((await call(k, `${name}.localhost`, '/env')).body) as { pid: number };
    const pending = call(k, `${name}.localhost`, '/slow?ms=5000');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(env.pid, 'SIGKILL');
    const r = await pending;
    expect(r.status).toBe(502);
    expect(r.body).toContain('closed the connection before answering');
    await waitFor('the dead instance to leave', () => instances(k, name), (i) => i.length === 0, 10_000);
    const next = await call(k, `${name}.localhost`, '/env');
    expect(next.status).toBe(200);
    expect((JSON.parse(next.body) as { pid: number }).pid).not.toBe(env.pid);
    const logs = k.cli(['run', 'services', 'logs', 'read', name]).stdout;
    expect(logs).toMatch(/crashed: it was killed by SIGKILL/);
  });
});
