/**
 * Bytes the router writes itself: its own responses (errors, `100 Continue`) and the request
 * head sent to an instance, built by copying the client's kept header lines as they came.
 */
import { STATUS_CODES } from 'node:http';
import { httpStatusOf } from '../../shared/errors.js';
import type { KumoError } from '../../shared/errors.js';
import { KEEP, TRACE } from './request-head.js';
import type { RequestHead } from './request-head.js';

export const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** A complete plain-text response from kumo itself. */
export function plainResponse(status: number, message: string, close: boolean, extra = ''): Buffer {
  const body = Buffer.from(`${message}\n`, 'utf8');
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ndate: ${new Date().toUTCString()}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${extra}${close ? 'connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** The response for a KumoError: its status, message, code and Retry-After when it has one. */
export function errorResponse(err: KumoError, close: boolean): Buffer {
  const retry = err.fields.retryAfterSec !== undefined ? `retry-after: ${err.fields.retryAfterSec}\r\n` : '';
  return plainResponse(httpStatusOf(err.code), err.message, close, `x-kumo-error: ${err.code}\r\n${retry}`);
}

/**
 * The head sent to the instance: the client's request line and kept fields byte for byte, then
 * `extra` (kumo's own fields, each ending in CRLF), then the empty line; `tail` is appended so
 * that a small body goes in the same write. `keepTrace` keeps the client's trace headers.
 */
export function upstreamHead(buf: Buffer, head: RequestHead, extra: string, keepTrace: boolean, tail: Buffer | undefined): Buffer {
  const f = head.fields;
  let size = head.lineEnd - head.start + extra.length + 2 + (tail ? tail.length : 0);
  for (let k = 0; k < f.length; k += 5) {
    const kind = f[k + 4];
    if (kind === KEEP || (kind === TRACE && keepTrace)) size += lineEnd(f, k, head) - f[k]!;
  }
  const out = Buffer.allocUnsafe(size);
  let o = buf.copy(out, 0, head.start, head.lineEnd);
  let run = -1;
  let runEnd = -1;
  for (let k = 0; k < f.length; k += 5) {
    const kind = f[k + 4];
    if (kind === KEEP || (kind === TRACE && keepTrace)) {
      if (run < 0) run = f[k]!;
      runEnd = lineEnd(f, k, head);
    } else if (run >= 0) {
      o += buf.copy(out, o, run, runEnd);
      run = -1;
    }
  }
  if (run >= 0) o += buf.copy(out, o, run, runEnd);
  o += out.write(extra, o, 'latin1');
  out[o++] = 13;
  out[o++] = 10;
  if (tail) tail.copy(out, o);
  return out;
}

/** Where field k's line ends (after its CRLF): the next field's start, or the empty line. */
function lineEnd(f: number[], k: number, head: RequestHead): number {
  return k + 5 < f.length ? f[k + 5]! : head.end - 2;
}
