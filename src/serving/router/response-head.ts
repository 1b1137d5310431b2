/**
 * The instance's response head, read in place: its status, how its body is framed
 * (Content-Length, chunked, until close, or none for HEAD/1xx/204/304), whether the
 * connection may be reused and for how long, and which lines are hop-by-hop. `clientHead`
 * then writes the head the client gets (same bytes, minus those lines) in one buffer together
 * with the first body bytes.
 */
import { isFieldByte, isTchar, nameEquals, trimmedText } from './octets.js';

export const LENGTH = 0;
export const CHUNKED = 1;
export const UNTIL_CLOSE = 2;
export const NO_BODY = 3;

/** A class, not a literal: one stable object shape on the hot path. */
export class ResponseHead {
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor = 1;
  status = 0;
  lineEnd = 0;
  /** Four numbers per field: line start, colon, line end (after CRLF), 1 when left out. */
  fields: number[] = [];
  framing = UNTIL_CLOSE;
  contentLength = -1;
  /** The instance closes the connection after this response (or may: it cannot be reused). */
  close = false;
  /** The instance's `Keep-Alive: timeout=N`, in ms. */
  keepAliveMs: number | undefined = undefined;

  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

/** Reads `HTTP/1.x SP 3DIGIT [SP reason] CRLF` into rh; false when malformed. */
function parseStatusLine(buf: Buffer, rh: ResponseHead): boolean {
  const start = rh.start;
  const prefix = 'HTTP/1.';
  for (let k = 0; k < prefix.length; k++) if (buf[start + k] !== prefix.charCodeAt(k)) return false;
  const minorByte = buf[start + 7];
  if ((minorByte !== 48 && minorByte !== 49) || buf[start + 8] !== 32) return false;
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const c = buf[start + k] ?? 0;
    if (c < 48 || c > 57) return false;
    status = status * 10 + (c - 48);
  }
  let p = start + 12;
  if (buf[p] === 32) {
    p++;
    while (isFieldByte(buf[p] ?? 0)) p++;
  }
  if (buf[p] !== 13 || buf[p + 1] !== 10 || status < 100) return false;
  rh.status = status;
  rh.minor = minorByte === 49 ? 1 : 0;
  rh.lineEnd = p + 2;
  return true;
}

/** Parses buf[start, end); `headRequest` when the request was HEAD. A string says what is wrong. */
export function parseResponseHead(buf: Buffer, start: number, end: number, headRequest: boolean): ResponseHead | string {
  const rh = new ResponseHead(start, end);
  if (!parseStatusLine(buf, rh)) return 'a malformed status line';
  const f = rh.fields;
  let chunked = false;
  let coded = false;
  let connection: string | undefined;
  let keepAlive = false;
  const last = end - 2;
  let p = rh.lineEnd;
  while (p < last) {
    const lineStart = p;
    while (isTchar(buf[p] ?? 0)) p++;
    if (p === lineStart || buf[p] !== 58) return 'a malformed header field name';
    const colon = p++;
    while (buf[p] === 32 || buf[p] === 9) p++;
    const vs = p;
    while (isFieldByte(buf[p] ?? 0)) p++;
    if (buf[p] !== 13 || buf[p + 1] !== 10) return 'a control character in a header field value';
    const ve = p;
    p += 2;
    let drop = 0;
    switch (colon - lineStart) {
      case 2:
        if (nameEquals(buf, lineStart, 'te')) drop = 1;
        break;
      case 7:
        if (nameEquals(buf, lineStart, 'upgrade')) drop = 1;
        break;
      case 10:
        if (nameEquals(buf, lineStart, 'connection')) {
          drop = 1;
          // the usual values without making strings
          if (ve - vs === 10 && nameEquals(buf, vs, 'keep-alive')) keepAlive = true;
          else if (ve - vs === 5 && nameEquals(buf, vs, 'close')) rh.close = true;
          else {
            const v = trimmedText(buf, vs, ve);
            connection = connection === undefined ? v : `${connection}, ${v}`;
          }
        } else if (nameEquals(buf, lineStart, 'keep-alive')) {
          drop = 1;
          rh.keepAliveMs = keepAliveTimeoutMs(buf, vs, ve);
        }
        break;
      case 14:
        if (nameEquals(buf, lineStart, 'content-length')) {
          const n = decimal(buf, vs, ve);
          if (n < 0 || (rh.contentLength >= 0 && n !== rh.contentLength)) return 'an invalid Content-Length';
          rh.contentLength = n;
        }
        break;
      case 16:
        if (nameEquals(buf, lineStart, 'proxy-connection')) drop = 1;
        break;
      case 17:
        if (nameEquals(buf, lineStart, 'transfer-encoding')) {
          coded = true;
          // chunked must be the last coding for the length to come from the framing
          const v = trimmedText(buf, vs, ve).toLowerCase();
          chunked = v === 'chunked' || v.endsWith(',chunked') || v.endsWith(' chunked');
        }
        break;
      case 18:
        if (nameEquals(buf, lineStart, 'proxy-authenticate')) drop = 1;
        break;
    }
    f.push(lineStart, colon, p, drop);
  }
  if (connection !== undefined) keepAlive = applyConnection(buf, rh, connection) || keepAlive;
  // HTTP/1.0 keeps the connection only when asked to
  if (rh.minor === 0 && !keepAlive) rh.close = true;
  const s = rh.status;
  if (headRequest || s < 200 || s === 204 || s === 304) {
    rh.framing = NO_BODY;
  } else if (coded) {
    rh.framing = chunked ? CHUNKED : UNTIL_CLOSE;
    if (!chunked) rh.close = true;
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): do not pass the latter on.
    if (rh.contentLength >= 0) for (let k = 0; k < f.length; k += 4) if (f[k + 1]! - f[k]! === 14 && nameEquals(buf, f[k]!, 'content-length')) f[k + 3] = 1;
  } else if (rh.contentLength >= 0) {
    rh.framing = LENGTH;
  } else {
    rh.framing = UNTIL_CLOSE;
    rh.close = true;
  }
  return rh;
}

function decimal(buf: Buffer, vs: number, ve: number): number {
  while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
  if (vs === ve || ve - vs > 15) return -1;
  let n = 0;
  for (let i = vs; i < ve; i++) {
    const c = buf[i] ?? 0;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** `timeout=N` in a Keep-Alive value (`timeout=5`, `timeout=5, max=1000`), in ms. */
function keepAliveTimeoutMs(buf: Buffer, vs: number, ve: number): number | undefined {
  for (let i = vs; i + 8 <= ve; i++) {
    const before = i === vs ? 44 : buf[i - 1];
    if ((before === 44 || before === 59 || before === 32) && nameEquals(buf, i, 'timeout=')) {
      let n = 0;
      let j = i + 8;
      for (; j < ve && (buf[j] ?? 0) >= 48 && (buf[j] ?? 0) <= 57 && j - i < 16; j++) n = n * 10 + ((buf[j] ?? 0) - 48);
      return j > i + 8 ? n * 1000 : undefined;
    }
  }
  return undefined;
}

/** Connection tokens: `close`, `keep-alive` (returned) and names of hop-by-hop fields to leave out. */
function applyConnection(buf: Buffer, rh: ResponseHead, tokens: string): boolean {
  let listed: Set<string> | undefined;
  let keepAlive = false;
  for (const t of tokens.split(',')) {
    const v = t.trim().toLowerCase();
    if (v === 'close') rh.close = true;
    else if (v === 'keep-alive') keepAlive = true;
    else if (v) (listed ??= new Set()).add(v);
  }
  if (!listed) return keepAlive;
  const f = rh.fields;
  for (let k = 0; k < f.length; k += 4) {
    if (f[k + 3] === 0 && listed.has(buf.toString('latin1', f[k], f[k + 1]).toLowerCase())) f[k + 3] = 1;
  }
  return keepAlive;
}

const CLOSE_LINE = 'connection: close\r\n';

/**
 * The head for the client (the instance's, without hop-by-hop lines, `connection: close`
 * added when kumo will close) followed by buf[tailStart, tailEnd): one buffer, one write.
 */
export function clientHead(buf: Buffer, rh: ResponseHead, close: boolean, tailStart: number, tailEnd: number): Buffer {
  const f = rh.fields;
  let size = rh.lineEnd - rh.start + 2 + (close ? CLOSE_LINE.length : 0) + (tailEnd - tailStart);
  for (let k = 0; k < f.length; k += 4) if (f[k + 3] === 0) size += f[k + 2]! - f[k]!;
  const out = Buffer.allocUnsafe(size);
  let o: number;
  if (rh.minor === 1) {
    o = buf.copy(out, 0, rh.start, rh.lineEnd);
  } else {
    o = out.write('HTTP/1.1', 0, 'latin1');
    o += buf.copy(out, o, rh.start + 8, rh.lineEnd);
  }
  // copy runs of kept lines at once
  let run = -1;
  let runEnd = -1;
  for (let k = 0; k < f.length; k += 4) {
    const ls = f[k]!;
    if (f[k + 3] === 0) {
      if (run < 0) run = ls;
      runEnd = f[k + 2]!;
    } else if (run >= 0) {
      o += buf.copy(out, o, run, runEnd);
      run = -1;
    }
  }
  if (run >= 0) o += buf.copy(out, o, run, runEnd);
  if (close) o += out.write(CLOSE_LINE, o, 'latin1');
  out[o++] = 13;
  out[o++] = 10;
  if (tailEnd > tailStart) buf.copy(out, o, tailStart, tailEnd);
  return out;
}
