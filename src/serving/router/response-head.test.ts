import { describe, expect, it } from 'vitest';
import { findHeadEnd } from './request-head.js';
import { CHUNKED, clientHead, LENGTH, NO_BODY, parseResponseHead, UNTIL_CLOSE } from './response-head.js';
import type { ResponseHead } from './response-head.js';
import { upstreamHead } from './wire.js';
import { parseRequestHead } from './request-head.js';

function head(text: string, headRequest = false): { buf: Buffer; rh: ResponseHead; end: number } {
  const buf = Buffer.from(text, 'latin1');
  const end = findHeadEnd(buf, 0, 0);
  const rh = parseResponseHead(buf, 0, end, headRequest);
  if (typeof rh === 'string') throw new Error(rh);
  return { buf, rh, end };
}

describe('parseResponseHead', () => {
  it('reads framing, reuse and the keep-alive hint of a Node.js response', () => {
    const { rh } = head('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 12\r\n\r\n');
    expect(rh).toMatchObject({ status: 200, minor: 1, framing: LENGTH, contentLength: 12, close: false, keepAliveMs: 5000 });
  });

  it.each([
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', false, CHUNKED, false],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', false, CHUNKED, false],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', false, UNTIL_CLOSE, true],
    ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', false, UNTIL_CLOSE, true],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true, NO_BODY, false],
    ['HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', false, NO_BODY, false],
    ['HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', false, NO_BODY, false],
    ['HTTP/1.1 100 Continue\r\n\r\n', false, NO_BODY, false],
    ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n', false, LENGTH, true],
    ['HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n', false, LENGTH, true],
    ['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n', false, LENGTH, false],
    ['HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n', false, LENGTH, false],
  ])('frames %j (HEAD request: %s)', (text, headRequest, framing, close) => {
    const { rh } = head(text, headRequest);
    expect(rh.framing).toBe(framing);
    expect(rh.close).toBe(close);
  });

  it.each([
    ['HTTP/1.1 2000 OK\r\n\r\n', 'status line'],
    ['HTTP/2 200 OK\r\n\r\n', 'status line'],
    ['HTTP/1.1 099 Odd\r\n\r\n', 'status line'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'Content-Length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'Content-Length'],
    ['HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n', 'field name'],
    ['HTTP/1.1 200 OK\r\nX-A: \x01\r\n\r\n', 'control character'],
  ])('refuses %j', (text, why) => {
    const buf = Buffer.from(text, 'latin1');
    expect(parseResponseHead(buf, 0, findHeadEnd(buf, 0, 0), false)).toContain(why);
  });

  it('writes the client head without hop-by-hop lines, with the first body bytes', () => {
    const { buf, rh, end } = head(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(clientHead(buf, rh, false, end, buf.length).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');
    expect(clientHead(buf, rh, true, end, end).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nconnection: close\r\n\r\n');
  });

  it('answers HTTP/1.1 for an HTTP/1.0 instance and drops Content-Length beside chunked', () => {
    const { buf, rh, end } = head('HTTP/1.0 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(clientHead(buf, rh, true, end, end).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nconnection: close\r\n\r\n');
  });
});

describe('upstreamHead', () => {
  it('copies the request line and kept fields, adds kumo fields and the first body bytes', () => {
    const text = 'POST /a HTTP/1.1\r\nHost: s.localhost\r\nConnection: close\r\ntraceparent: old\r\nX-Forwarded-For: 1.2.3.4\r\nContent-Length: 2\r\nAccept: */*\r\n\r\n';
    const buf = Buffer.from(text, 'latin1');
    const h = parseRequestHead(buf, 0, findHeadEnd(buf, 0, 0));
    if ('status' in h) throw new Error(h.message);
    const replaced = upstreamHead(buf, h, 'x-kumo: 1\r\n', false, Buffer.from('hi')).toString('latin1');
    expect(replaced).toBe('POST /a HTTP/1.1\r\nHost: s.localhost\r\nContent-Length: 2\r\nAccept: */*\r\nx-kumo: 1\r\n\r\nhi');
    const kept = upstreamHead(buf, h, '', true, undefined).toString('latin1');
    expect(kept).toBe('POST /a HTTP/1.1\r\nHost: s.localhost\r\ntraceparent: old\r\nContent-Length: 2\r\nAccept: */*\r\n\r\n');
  });
});
