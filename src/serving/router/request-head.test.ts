import { describe, expect, it } from 'vitest';
import { DROP, FORWARDED, KEEP, TRACE, XFF, findHeadEnd, parseRequestHead } from './request-head.js';
import type { HeadFailure, RequestHead } from './request-head.js';

function parse(text: string): RequestHead | HeadFailure {
  const buf = Buffer.from(text, 'latin1');
  const end = findHeadEnd(buf, 0, 0);
  if (end < 0) throw new Error(`no complete head (${end})`);
  return parseRequestHead(buf, 0, end);
}

function ok(text: string): RequestHead {
  const h = parse(text);
  if ('status' in h) throw new Error(`refused: ${h.status} ${h.message}`);
  return h;
}

function refused(text: string): HeadFailure {
  const h = parse(text);
  if (!('status' in h)) throw new Error(`accepted: ${text}`);
  return h;
}

/** Field names with their kinds, for readable expectations. */
function kinds(text: string, head: RequestHead): [string, number][] {
  const out: [string, number][] = [];
  for (let k = 0; k < head.fields.length; k += 5) out.push([text.slice(head.fields[k], head.fields[k + 1]), head.fields[k + 4] ?? -1]);
  return out;
}

describe('findHeadEnd', () => {
  it('finds the empty line, waits for more, and refuses a bare LF', () => {
    const full = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY');
    expect(findHeadEnd(full, 0, 0)).toBe(full.length - 4);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r'), 0, 0)).toBe(-1);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\n'), 0, 0)).toBe(-2);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\n\r\n'), 0, 0)).toBe(-2);
  });

  it('gives the same answer when resumed at every split point', () => {
    const text = Buffer.from('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
    const want = findHeadEnd(text, 0, 0);
    for (let cut = 1; cut < text.length; cut++) {
      const first = findHeadEnd(text.subarray(0, cut), 0, 0);
      const resumed = first === -1 ? findHeadEnd(text, 0, cut) : first;
      expect(resumed).toBe(want);
    }
  });
});

describe('parseRequestHead', () => {
  it('reads the request line and what the router needs', () => {
    const text =
      'POST /echo?x=1 HTTP/1.1\r\nHost: hello.localhost:8080\r\nUser-Agent: curl/8\r\nReferer: http://r/\r\nAuthorization: Bearer t\r\n' +
      'Content-Length: 12\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\n\r\n';
    const h = ok(text);
    expect(h.method).toBe('POST');
    expect(h.target).toBe('/echo?x=1');
    expect(h.minor).toBe(1);
    expect(h.h).toMatchObject({
      host: 'hello.localhost:8080',
      userAgent: 'curl/8',
      referer: 'http://r/',
      authorization: 'Bearer t',
      contentLength: 12,
      chunked: false,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(kinds(text, h)).toEqual([
      ['Host', KEEP],
      ['User-Agent', KEEP],
      ['Referer', KEEP],
      ['Authorization', KEEP],
      ['Content-Length', KEEP],
      ['traceparent', TRACE],
      ['X-Forwarded-For', XFF],
      ['Forwarded', FORWARDED],
    ]);
    expect(h.close).toBe(false);
  });

  it('trims optional whitespace around values and keeps custom methods', () => {
    const h = ok('PROPFIND / HTTP/1.1\r\nHost:\t  a.localhost \t\r\n\r\n');
    expect(h.method).toBe('PROPFIND');
    expect(h.h.host).toBe('a.localhost');
  });

  it('marks hop-by-hop fields, the fields Connection names, and close', () => {
    const text =
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret, close\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Authorization: x\r\n' +
      'X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nExpect: 100-continue\r\nAccept: */*\r\n\r\n';
    const h = ok(text);
    expect(kinds(text, h)).toEqual([
      ['Host', KEEP],
      ['Connection', DROP],
      ['X-Secret', DROP],
      ['Keep-Alive', DROP],
      ['TE', DROP],
      ['Proxy-Authorization', DROP],
      ['X-Forwarded-Proto', DROP],
      ['X-Forwarded-Host', DROP],
      ['Expect', DROP],
      ['Accept', KEEP],
    ]);
    expect(h.close).toBe(true);
    expect(h.expectContinue).toBe(true);
  });

  it('notes chunked bodies, upgrades and HTTP/1.0 (which closes unless asked to keep alive)', () => {
    expect(ok('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n').h.chunked).toBe(true);
    expect(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n').upgrade).toBe(true);
    expect(ok('GET / HTTP/1.0\r\n\r\n').close).toBe(true);
    expect(ok('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').close).toBe(false);
  });

  it.each([
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'both Content-Length and Transfer-Encoding'],
    ['GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 400, 'both Content-Length and Transfer-Encoding'],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 400, 'more than one Content-Length'],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n', 400, 'not a decimal'],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n', 400, 'not a decimal'],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n', 400, 'not a decimal'],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n', 400, 'Content-Length is empty'],
    ['GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501, 'only Transfer-Encoding'],
    ['GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 501, 'only Transfer-Encoding'],
    ['GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'more than one Transfer-Encoding'],
    ['GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n', 400, 'before its colon'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n', 400, 'obs-fold'],
    ['GET / HTTP/1.1\r\n Host: a\r\n\r\n', 400, 'obs-fold'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n', 400, 'bare CR'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n', 400, 'control character'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-A: \x7f\r\n\r\n', 400, 'control character'],
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'more than one Host'],
    ['GET / HTTP/1.1\r\nX-A: b\r\n\r\n', 400, 'no Host'],
    ['GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n', 400, 'more than one Authorization'],
    ['GET / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n', 417, '100-continue'],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'HTTP/1.1'],
    ['GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505, 'HTTP/1.1'],
    ['GET / HTTPS/1.1\r\nHost: a\r\n\r\n', 400, 'request line'],
    ['GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request line'],
    ['GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request line'],
    ['GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request line'],
    ['G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'request line'],
    ['GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 400, 'request line'],
    ['GET / HTTP/1.1\r\n: empty-name\r\n\r\n', 400, 'field name'],
    ['GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n', 400, 'field name'],
  ])('refuses %j with %i', (text, status, why) => {
    const f = refused(text);
    expect(f.status).toBe(status);
    expect(f.message).toContain(why);
  });

  it('refuses more than 256 fields with 431', () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-${i}: v\r\n`).join('');
    expect(refused(`GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`).status).toBe(431);
  });

  it('reads a Content-Length too large to be exact as over any limit', () => {
    expect(ok('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n').h.contentLength).toBe(Number.MAX_SAFE_INTEGER);
  });
});
