/**
 * Reading a whole request body into memory, bounded twice: by what this API takes (a declared
 * length over it is refused before a byte is read) and by the server-wide body budget (each
 * chunk is taken from the call's lease as it arrives, so a slow sender holds only what it sent).
 * Call it only once the caller is authorized. On refusal reading stops at once; the caller
 * answers with `Connection: close` (see `closeIfUnread`) so the rest is never read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyLease } from './body-budget.js';
import { KumoError } from './errors.js';

export interface BodyLimits {
  /** Largest body this API takes. */
  limitBytes: number;
  lease: BodyLease;
  /** What the body is, for messages (`request body`, `the service`). */
  what?: string;
}

function tooLarge(what: string, limitBytes: number, got: string): KumoError {
  return new KumoError('PAYLOAD_TOO_LARGE', `${what} is ${got}; this API takes at most ${limitBytes} bytes`);
}

export function readRequestBody(req: IncomingMessage, res: ServerResponse | undefined, o: BodyLimits): Promise<Buffer> {
  const what = o.what ?? 'the request body';
  const header = req.headers['content-length'];
  const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  if (declared !== undefined && declared > o.limitBytes) return Promise.reject(tooLarge(what, o.limitBytes, `${declared} bytes`));
  // The client waits for our go-ahead before it sends the body: give it only now, after the checks.
  if (res) continueIfExpected(req, res);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > o.limitBytes) return stop(tooLarge(what, o.limitBytes, `over ${o.limitBytes} bytes`));
      if (!o.lease.take(chunk.length)) return stop(o.lease.exhausted());
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', (err) => stop(err));
  });
}

const continued = new WeakSet<ServerResponse>();

/**
 * `100 Continue` to a client that sent `Expect: 100-continue` (once): call it when the request is
 * authorized and its body is about to be read. Servers that handle `checkContinue` themselves
 * never send it earlier, so a refused client never sends its body.
 */
export function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  if (continued.has(res) || res.headersSent || !/^100-continue$/i.test(String(req.headers.expect ?? '').trim())) return;
  continued.add(res);
  res.writeContinue();
}

/** How long a connection closed with its request body unread stays open (not read) so the client gets the answer. */
const LINGER_MS = 2000;

/**
 * Before answering an error: a request whose body was not read whole gets `Connection: close`,
 * and its connection is not read any further. After the answer kumo half-closes and stops
 * reading, so the sender is held by TCP flow control instead of being drained, and cuts the
 * connection after LINGER_MS (closing at once, with bytes unread, would reset it before the
 * client could read the answer).
 */
export function closeIfUnread(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent) return;
  res.setHeader('connection', 'close');
  res.shouldKeepAlive = false;
  const socket = req.socket;
  // Node ends a `Connection: close` exchange with socket.destroySoon(): end, then destroy once flushed.
  socket.destroySoon = () => {
    socket.end();
    socket.pause();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
