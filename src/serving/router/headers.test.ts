import { describe, expect, it } from 'vitest';
import { downstreamHeaders, scanHeaders, upstreamHeaders } from './headers.js';

describe('proxy headers', () => {
  const raw = ['Host', 'hello.localhost:8080', 'Connection', 'keep-alive, X-Secret', 'X-Secret', 's', 'X-Forwarded-For', '10.1.1.1', 'Transfer-Encoding', 'chunked', 'Accept', '*/*', 'Authorization', 'Bearer t'];

  it('scans what the router needs', () => {
    const h = scanHeaders(raw);
    expect(h).toMatchObject({ host: 'hello.localhost:8080', authorization: 'Bearer t', chunked: true });
  });

  it('drops hop-by-hop headers and adds forwarding headers', () => {
    const h = scanHeaders(raw);
    const up = upstreamHeaders(raw, h, { remoteAddress: '::ffff:127.0.0.1', host: 'hello.localhost:8080', proto: 'http' });
    const pairs = Object.fromEntries(up.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), up[i + 1]]] : [])));
    expect(pairs).not.toHaveProperty('connection');
    expect(pairs).not.toHaveProperty('x-secret');
    expect(pairs).not.toHaveProperty('transfer-encoding');
    expect(pairs['host']).toBe('hello.localhost:8080');
    expect(pairs['accept']).toBe('*/*');
    expect(pairs['authorization']).toBe('Bearer t');
    expect(pairs['x-forwarded-for']).toBe('10.1.1.1, 127.0.0.1');
    expect(pairs['x-forwarded-proto']).toBe('http');
    expect(pairs['x-forwarded-host']).toBe('hello.localhost:8080');
    expect(pairs['forwarded']).toBe('for=127.0.0.1;host=hello.localhost:8080;proto=http');
  });

  it('keeps upgrade headers for websocket handshakes', () => {
    const ws = ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket'];
    const up = upstreamHeaders(ws, scanHeaders(ws), { remoteAddress: '::1', host: 'h', proto: 'http' }, true);
    expect(up).toContain('Upgrade');
    expect(up[up.indexOf('forwarded') + 1]).toBe('for="[::1]";host=h;proto=http');
  });

  it('drops hop-by-hop response headers', () => {
    const raw = ['Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5'].map((s) => Buffer.from(s));
    expect(downstreamHeaders(raw)).toEqual(['Content-Type', 'text/plain']);
  });
});
