/**
 * The router's own HTTP/1.1 engine on a real kumo server, driven over raw TCP: heads split
 * byte by byte, pipelining (across the hand-over to kumo's own endpoints too), oversized heads,
 * request smuggling attempts, body framings both ways, 100-continue, keep-alive upstream, and
 * aborts. The service behind it records every request it is given.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, removeHome, startKumo, uniqueName } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { wireAppDir } from './wire-app.js';

let k: KumoServer;
let host: string;

interface Seen {
  seen: string[];
  aborted: number;
  upstreamPorts: number;
}

beforeAll(async () => {
  k = await startKumo(['--idle-grace', '60s']);
  const name = uniqueName('wire');
  const r = k.cli(['run', 'deploy', name, '--source', wireAppDir(), '--allow-unauthenticated']);
  if (r.code !== 0) throw new Error(`deploy failed: ${r.stdout}${r.stderr}`);
  host = `${name}.localhost:${k.port}`;
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `pieces` on one connection (pausing `gapMs` between them) and collects what comes back. */
function exchange(pieces: (string | Buffer)[], o: { gapMs?: number; until?: (text: string) => boolean; timeoutMs?: number } = {}): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(k.port, '127.0.0.1');
    s.setNoDelay(true);
    let text = '';
    let closed = false;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(done, o.timeoutMs ?? 5000);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (o.until?.(text)) done();
    });
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', () => undefined);
    void (async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        if (o.gapMs) await sleep(o.gapMs);
      }
    })();
  });
}

const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
const bodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4);

async function seen(): Promise<Seen> {
  return JSON.parse((await call(k, host.split(':')[0] ?? '', '/__seen')).body) as Seen;
}

describe('the raw engine', () => {
  it('takes a request sent one byte at a time', async () => {
    const req = `POST /echo?x=1 HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\n\r\nhello`;
    const r = await exchange([...req], { gapMs: 1, until: (t) => t.includes('"body"') && t.endsWith('}') });
    expect(statuses(r.text)).toEqual([200]);
    const echo = JSON.parse(bodyOf(r.text)) as { method: string; url: string; body: string };
    expect(echo).toMatchObject({ method: 'POST', url: '/echo?x=1', body: 'hello' });
  });

  it('answers pipelined requests in order on one connection, across the hand-over to kumo itself', async () => {
    const batch =
      `GET /echo?n=1 HTTP/1.1\r\nHost: ${host}\r\n\r\n` +
      `POST /echo?n=2 HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 3\r\n\r\nabc` +
      `POST /echo?n=3 HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n` +
      `GET /healthz HTTP/1.1\r\nHost: localhost:${k.port}\r\n\r\n` +
      `GET /echo?n=5 HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const r = await exchange([batch], { until: (t) => statuses(t).length === 5 && t.includes('n=5') && t.endsWith('}') });
    expect(statuses(r.text)).toEqual([200, 200, 200, 200, 200]);
    const order = [...r.text.matchAll(/"url":"\/echo\?n=(\d)"|ok\n/g)].map((m) => m[1] ?? 'kumo');
    expect(order).toEqual(['1', '2', '3', 'kumo', '5']);
    expect(r.text).toContain('"body":"abc"');
    expect(r.text).toContain('"body":"def"');
    expect(r.closed).toBe(false);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: H\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX', 400],
    ['Transfer-Encoding with Content-Length', 'POST /echo HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX', 400],
    ['two Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: H\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n', 400],
    ['an unknown coding', 'POST /echo HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: xchunked\r\n\r\n', 501],
    ['space before the colon', 'POST /echo HTTP/1.1\r\nHost: H\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 400],
    ['obs-fold', 'POST /echo HTTP/1.1\r\nHost: H\r\nContent-Length: 5\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['bare LF line ends', 'POST /echo HTTP/1.1\nHost: H\nContent-Length: 0\n\n', 400],
    ['a NUL in a value', 'POST /echo HTTP/1.1\r\nHost: H\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n', 400],
    ['a hex prefix in a chunk size', 'POST /echo HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n', 400],
    ['chunk data past its size', 'POST /echo HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n', 400],
    ['a signed Content-Length', 'POST /echo HTTP/1.1\r\nHost: H\r\nContent-Length: +0\r\n\r\n', 400],
  ])('refuses %s, closes the connection and passes nothing on', async (_what, attack, status) => {
    const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const r = await exchange([attack.replaceAll('Host: H', `Host: ${host}`) + smuggled]);
    expect(statuses(r.text)).toEqual([status]);
    expect(r.closed).toBe(true);
    expect((await seen()).seen).not.toContain('GET /smuggled');
  });

  it('answers 431 to a head over 64 KiB, whole or in pieces', async () => {
    const big = `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`;
    for (const pieces of [[big], big.match(/[\s\S]{1,1000}/g) ?? []]) {
      const r = await exchange(pieces);
      expect(statuses(r.text)).toEqual([431]);
      expect(r.closed).toBe(true);
    }
  });

  it('passes a chunked body split in odd places, and answers 400 to a request without Host', async () => {
    const head = `POST /echo HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const body = '3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n';
    const r = await exchange([head, ...body], { gapMs: 1, until: (t) => t.endsWith('}') });
    expect(JSON.parse(bodyOf(r.text))).toMatchObject({ body: 'abc0123456789abcdef' });
    const noHost = await exchange(['GET / HTTP/1.1\r\nAccept: */*\r\n\r\n']);
    expect(statuses(noHost.text)).toEqual([400]);
    expect(noHost.text).toContain('no Host header');
  });

  it('sends 100 Continue before the body is sent, then the answer', async () => {
    const s = connect(k.port, '127.0.0.1');
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('latin1')));
    s.write(`PUT /echo HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n`);
    const deadline = Date.now() + 3000;
    while (!text.includes('\r\n\r\n') && Date.now() < deadline) await sleep(10);
    expect(text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    s.write('data');
    while (!text.endsWith('}') && Date.now() < deadline) await sleep(10);
    s.destroy();
    expect(statuses(text)).toEqual([100, 200]);
    expect(text).toContain('"body":"data"');
    expect(text).not.toMatch(/expect:/i);
  });

  it('ends HEAD, 204 and 304 responses without a body and keeps the connection', async () => {
    const batch = ['HEAD /status?code=200', 'GET /status?code=204', 'GET /status?code=304', 'GET /'].map((l) => `${l} HTTP/1.1\r\nHost: ${host}\r\n\r\n`).join('');
    const r = await exchange([batch], { until: (t) => statuses(t).length === 4 && t.endsWith('ok') });
    expect(statuses(r.text)).toEqual([200, 204, 304, 200]);
    expect(r.text).not.toContain('abcde');
    expect(r.closed).toBe(false);
  });

  it('passes close-delimited responses whole, then closes; drops 1xx and fields named in Connection', async () => {
    const close = await exchange([`GET /close-delimited HTTP/1.1\r\nHost: ${host}\r\n\r\n`]);
    expect(close.closed).toBe(true);
    expect(close.text).toMatch(/connection: close\r\n/i);
    expect(bodyOf(close.text)).toBe('until the connection closes');
    const hints = await exchange([`GET /early-hints HTTP/1.1\r\nHost: ${host}\r\n\r\n`], { until: (t) => t.endsWith('}') });
    expect(statuses(hints.text)).toEqual([200]);
    const chunks = await exchange([`GET /chunks HTTP/1.1\r\nHost: ${host}\r\n\r\n`], { until: (t) => t.endsWith('0\r\n\r\n') });
    expect(chunks.text).toMatch(/transfer-encoding: chunked/i);
    expect(chunks.text).not.toMatch(/x-hop|keep-alive|connection:/i);
    expect(chunks.text).toContain('part2;');
  });

  it('streams large responses intact to a client that stops reading for a while', async () => {
    for (const query of ['bytes=20000000&length', 'bytes=20000000']) {
      const got = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: k.port, path: `/big?${query}`, headers: { host } }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            if (n > 1_000_000 && n - c.length <= 1_000_000) {
              res.pause();
              setTimeout(() => res.resume(), 500);
            }
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(got).toBe(20_000_000);
    }
  });

  it('keeps connections to the instance alive across requests', async () => {
    const before = (await seen()).upstreamPorts;
    for (let i = 0; i < 20; i++) expect((await call(k, host.split(':')[0] ?? '', '/')).status).toBe(200);
    expect((await seen()).upstreamPorts - before).toBeLessThanOrEqual(1);
  });

  it('aborts the upstream request when the client goes away', async () => {
    const before = (await seen()).aborted;
    const s = connect(k.port, '127.0.0.1');
    s.write(`GET /slow?ms=3000 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await sleep(300);
    s.destroy();
    await sleep(300);
    expect((await seen()).aborted).toBe(before + 1);
  });

  it('serves HTTP/1.0 through the hand-over to Node.js, and continues a client trace', async () => {
    const old = await exchange([`GET /echo HTTP/1.0\r\nHost: ${host}\r\n\r\n`]);
    expect(statuses(old.text)).toEqual([200]);
    expect(old.closed).toBe(true);
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await exchange([`GET /echo HTTP/1.1\r\nHost: ${host}\r\ntraceparent: 00-${trace}-00f067aa0ba902b7-01\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n`], {
      until: (t) => t.endsWith('}'),
    });
    const h = (JSON.parse(bodyOf(r.text)) as { headers: Record<string, string> }).headers;
    expect(h['traceparent']).toMatch(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
    expect(h['traceparent']).not.toContain('00f067aa0ba902b7');
    expect(h['x-cloud-trace-context']).toMatch(new RegExp(`^${trace}/\\d+;o=1$`));
    expect(h['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
  });
});
