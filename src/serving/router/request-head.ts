/**
 * A strict parser of HTTP/1.1 request heads (RFC 9112 §3, §5, §6) for the router's own data
 * path. It reads a complete head in place (offsets, no header objects), picks out what the
 * router needs, and refuses whatever two parsers could read differently: bare LF or CR,
 * obs-fold, whitespace before a colon, Content-Length together with Transfer-Encoding, a
 * duplicate Host/Content-Length/Transfer-Encoding/Authorization, a coding other than chunked.
 */
import { emptyInbound } from './headers.js';
import type { InboundHeaders } from './headers.js';
import { isFieldByte, isTargetByte, isTchar, nameEquals, trimmedText } from './octets.js';

/** Cloud Run accepts request heads up to 64 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_FIELDS = 256;

/** Why a head was refused: the status to answer with (400, 417, 431, 501, 505) and why. */
export interface HeadFailure {
  status: number;
  message: string;
}

/** What the proxy does with a request header (`RequestHead.fields`, every fifth number). */
export const KEEP = 0;
export const DROP = 1;
/** Trace headers: dropped when kumo replaces them with its own span. */
export const TRACE = 2;
export const XFF = 3;
export const FORWARDED = 4;

export interface RequestHead {
  method: string;
  target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: number;
  /** Offsets into the buffer: head start, end of the request line (after its CRLF), end of the head. */
  start: number;
  lineEnd: number;
  end: number;
  /** Five numbers per field: line start, colon, value start, value end (trimmed), kind. */
  fields: number[];
  h: InboundHeaders;
  expectContinue: boolean;
  /** The client asked to close the connection after this exchange. */
  close: boolean;
  /** The request carries Upgrade (a protocol switch: WebSocket, h2c). */
  upgrade: boolean;
}

/**
 * Where the head that starts at `start` ends (the index after its empty line), looking at
 * LFs from `from` on: -1 when it is not complete yet, -2 on a bare LF.
 */
export function findHeadEnd(buf: Buffer, start: number, from: number): number {
  let i = from < start ? start : from;
  for (;;) {
    const lf = buf.indexOf(10, i);
    if (lf < 0) return -1;
    if (lf === start || buf[lf - 1] !== 13) return -2;
    if (lf - start >= 3 && buf[lf - 2] === 10 && buf[lf - 3] === 13) return lf + 1;
    i = lf + 1;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS'];

function methodName(buf: Buffer, start: number, end: number): string {
  for (const m of METHODS) {
    if (m.length !== end - start) continue;
    let same = true;
    for (let i = 0; i < m.length; i++) if (buf[start + i] !== m.charCodeAt(i)) same = false;
    if (same) return m;
  }
  return buf.toString('latin1', start, end);
}

function fail(status: number, message: string): HeadFailure {
  return { status, message };
}

const MALFORMED_LINE = 'the request line is malformed; send "METHOD /path HTTP/1.1" ending with CRLF';

/** Parses the head in buf[start, end), `end` as found by `findHeadEnd`. */
export function parseRequestHead(buf: Buffer, start: number, end: number): RequestHead | HeadFailure {
  let i = start;
  while (isTchar(buf[i] ?? 0)) i++;
  if (i === start || buf[i] !== 32) return fail(400, MALFORMED_LINE);
  const method = methodName(buf, start, i);
  const targetStart = ++i;
  while (isTargetByte(buf[i] ?? 0)) i++;
  if (i === targetStart || buf[i] !== 32) return fail(400, MALFORMED_LINE);
  const target = buf.toString('latin1', targetStart, i);
  i++;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF
  if (!nameEqualsExact(buf, i, 'HTTP/') || buf[i + 6] !== 46 || !isDigit(buf[i + 5]) || !isDigit(buf[i + 7])) return fail(400, MALFORMED_LINE);
  if (buf[i + 8] !== 13 || buf[i + 9] !== 10) return fail(400, MALFORMED_LINE);
  if (buf[i + 5] !== 49 || (buf[i + 7] !== 49 && buf[i + 7] !== 48)) return fail(505, 'only HTTP/1.1 and HTTP/1.0 are spoken on this port');
  const minor = buf[i + 7] === 49 ? 1 : 0;
  const lineEnd = i + 10;

  const h: InboundHeaders = emptyInbound();
  const head: RequestHead = { method, target, minor, start, lineEnd, end, fields: [], h, expectContinue: false, close: minor === 0, upgrade: false };
  const fields = head.fields;
  let transferEncodings = 0;
  const last = end - 2;
  let p = lineEnd;
  while (p < last) {
    const lineStart = p;
    const c0 = buf[p] ?? 0;
    if (c0 === 32 || c0 === 9) return fail(400, 'a header line starts with whitespace (obs-fold), which is not accepted; send each field on one line');
    while (isTchar(buf[p] ?? 0)) p++;
    if (p === lineStart || buf[p] !== 58) return fail(400, 'a header field name is malformed (no whitespace or other separators before its colon)');
    const colon = p++;
    while (buf[p] === 32 || buf[p] === 9) p++;
    const valueStart = p;
    while (isFieldByte(buf[p] ?? 0)) p++;
    if (buf[p] !== 13 || buf[p + 1] !== 10) return fail(400, 'a header field value holds a control character or a bare CR');
    let valueEnd = p;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 32 || buf[valueEnd - 1] === 9)) valueEnd--;
    p += 2;
    if (fields.length >= MAX_FIELDS * 5) return fail(431, `the request has more than ${MAX_FIELDS} header fields`);
    const kind = classify(buf, lineStart, colon - lineStart, valueStart, valueEnd, head);
    if (typeof kind !== 'number') return kind;
    if (kind === -1) {
      transferEncodings++;
      fields.push(lineStart, colon, valueStart, valueEnd, DROP);
    } else {
      fields.push(lineStart, colon, valueStart, valueEnd, kind);
    }
  }
  if (transferEncodings > 1) return fail(400, 'the request has more than one Transfer-Encoding field');
  if (h.chunked && h.contentLength !== undefined) return fail(400, 'the request has both Content-Length and Transfer-Encoding; send one of them');
  if (h.host === undefined && minor === 1) return fail(400, 'the request has no Host header (HTTP/1.1 requires one)');
  if (h.connectionTokens !== undefined) markListed(buf, head, h.connectionTokens);
  return head;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

function nameEqualsExact(buf: Buffer, at: number, s: string): boolean {
  for (let k = 0; k < s.length; k++) if (buf[at + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** The kind of one field, recording what the router needs; -1 marks Transfer-Encoding. */
function classify(buf: Buffer, at: number, len: number, vs: number, ve: number, head: RequestHead): number | HeadFailure {
  const h = head.h;
  switch (len) {
    case 2:
      return nameEquals(buf, at, 'te') ? DROP : KEEP;
    case 4:
      if (!nameEquals(buf, at, 'host')) return KEEP;
      if (h.host !== undefined) return fail(400, 'the request has more than one Host field');
      h.host = buf.toString('latin1', vs, ve);
      return KEEP;
    case 6:
      if (!nameEquals(buf, at, 'expect')) return KEEP;
      if (ve - vs !== 12 || !nameEquals(buf, vs, '100-continue')) return fail(417, 'the only expectation kumo meets is "Expect: 100-continue"');
      head.expectContinue = true;
      return DROP;
    case 7:
      if (nameEquals(buf, at, 'upgrade')) {
        head.upgrade = true;
        h.upgrade = buf.toString('latin1', vs, ve);
        return DROP;
      }
      if (nameEquals(buf, at, 'trailer')) return DROP;
      if (nameEquals(buf, at, 'referer') && h.referer === undefined) h.referer = buf.toString('latin1', vs, ve);
      return KEEP;
    case 9:
      return nameEquals(buf, at, 'forwarded') ? FORWARDED : KEEP;
    case 10:
      if (nameEquals(buf, at, 'connection')) {
        const v = buf.toString('latin1', vs, ve);
        h.connectionTokens = h.connectionTokens === undefined ? v : `${h.connectionTokens}, ${v}`;
        return DROP;
      }
      if (nameEquals(buf, at, 'keep-alive')) return DROP;
      if (nameEquals(buf, at, 'user-agent') && h.userAgent === undefined) h.userAgent = buf.toString('latin1', vs, ve);
      return KEEP;
    case 11:
      if (!nameEquals(buf, at, 'traceparent')) return KEEP;
      if (h.traceparent === undefined) h.traceparent = buf.toString('latin1', vs, ve);
      return TRACE;
    case 13:
      if (!nameEquals(buf, at, 'authorization')) return KEEP;
      if (h.authorization !== undefined) return fail(400, 'the request has more than one Authorization field');
      h.authorization = buf.toString('latin1', vs, ve);
      return KEEP;
    case 14:
      if (!nameEquals(buf, at, 'content-length')) return KEEP;
      return contentLength(buf, vs, ve, h);
    case 15:
      return nameEquals(buf, at, 'x-forwarded-for') ? XFF : KEEP;
    case 16:
      return nameEquals(buf, at, 'x-forwarded-host') || nameEquals(buf, at, 'proxy-connection') ? DROP : KEEP;
    case 17:
      if (nameEquals(buf, at, 'x-forwarded-proto')) return DROP;
      if (!nameEquals(buf, at, 'transfer-encoding')) return KEEP;
      if (ve - vs !== 7 || !nameEquals(buf, vs, 'chunked')) return fail(501, 'the only Transfer-Encoding kumo accepts in a request is "chunked"');
      h.chunked = true;
      return -1;
    case 18:
      return nameEquals(buf, at, 'proxy-authenticate') ? DROP : KEEP;
    case 19:
      return nameEquals(buf, at, 'proxy-authorization') ? DROP : KEEP;
    case 21:
      if (!nameEquals(buf, at, 'x-cloud-trace-context')) return KEEP;
      if (h.cloudTraceContext === undefined) h.cloudTraceContext = buf.toString('latin1', vs, ve);
      return TRACE;
    default:
      return KEEP;
  }
}

function contentLength(buf: Buffer, vs: number, ve: number, h: InboundHeaders): number | HeadFailure {
  if (h.contentLength !== undefined) return fail(400, 'the request has more than one Content-Length field');
  if (vs === ve) return fail(400, 'Content-Length is empty; send the body size in bytes');
  let n = 0;
  for (let i = vs; i < ve; i++) {
    const c = buf[i] ?? 0;
    if (c < 48 || c > 57) return fail(400, 'Content-Length is not a decimal number of bytes');
    n = n * 10 + (c - 48);
  }
  // Past 2^53 the exact figure no longer matters: it is over any body limit.
  h.contentLength = Math.min(n, Number.MAX_SAFE_INTEGER);
  return KEEP;
}

/** Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1); `close` is noted. */
function markListed(buf: Buffer, head: RequestHead, tokens: string): void {
  let listed: Set<string> | undefined;
  let close = false;
  let keepAlive = false;
  for (const t of tokens.split(',')) {
    const v = t.trim().toLowerCase();
    if (v === 'close') close = true;
    else if (v === 'keep-alive') keepAlive = true;
    else if (v && v !== 'upgrade') (listed ??= new Set()).add(v);
  }
  head.close = close || (head.minor === 0 && !keepAlive);
  if (!listed) return;
  const f = head.fields;
  for (let k = 0; k < f.length; k += 5) {
    if (f[k + 4] === DROP) continue;
    const name = trimmedText(buf, f[k] ?? 0, f[k + 1] ?? 0).toLowerCase();
    if (listed.has(name)) f[k + 4] = DROP;
  }
}
