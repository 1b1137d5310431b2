/**
 * One proxied HTTP request: wait for a concurrency slot, send the request to the instance
 * through its keep-alive pool, stream the response back, and answer 429/502/503/504 with a
 * reason when something goes wrong. Implements undici's dispatch handler with raw headers, so
 * no header objects or promises are made per request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { httpStatusOf, KumoError } from '../../shared/errors.js';
import type { TraceContext } from '../../observability/structured/index.js';
import type { InstanceSlot, RevisionPool, Waiter } from '../dispatcher/revision-pool.js';
import { downstreamHeaders } from './headers.js';
import type { InboundHeaders } from './headers.js';

/** What a finished call tells telemetry (request logs, metrics), whichever engine carried it. */
export interface ProxyCall {
  readonly req: { readonly method?: string | undefined; readonly url?: string | undefined; readonly httpVersion: string };
  readonly pool: RevisionPool;
  readonly startedAt: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly trace: TraceContext | undefined;
  readonly inbound: InboundHeaders;
  /** The client's address, read at arrival (the socket may be gone when the call ends). */
  readonly remoteAddress: string | undefined;
  /** The instance that served it. */
  readonly instanceId: string | undefined;
}

export interface CallEvents {
  /** Called once when the call ends, with the status sent (0 when the client went away first). */
  ended(call: ProxyCall, status: number): void;
}

export function sendError(res: ServerResponse, err: KumoError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = httpStatusOf(err.code);
  const body = `${err.message}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-kumo-error': err.code,
  };
  if (err.fields.retryAfterSec !== undefined) headers['retry-after'] = err.fields.retryAfterSec;
  res.writeHead(status, headers);
  res.end(body);
}

async function* limitBody(req: IncomingMessage, maxBytes: number, onTooLarge: () => void, count: (n: number) => void): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    count(n);
    if (n > maxBytes) {
      onTooLarge();
      throw new KumoError('PAYLOAD_TOO_LARGE', `request body is over ${maxBytes / 1024 ** 2} MiB`);
    }
    yield chunk;
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

/** One call on Node's http.Server (connections handed over by the raw engine), through undici. */
export class NodeProxyCall implements Waiter, ProxyCall {
  cancelled = false;
  enqueuedAt = 0;
  slot: InstanceSlot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private finished = false;
  private timedOut = false;
  private tooLarge = false;
  private status = 0;
  readonly startedAt: number;
  /** The instance that served it (kept after the slot is released, for the request log). */
  instanceId: string | undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** The client's address, read at arrival (the socket may be gone when the call ends). */
  readonly remoteAddress: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly pool: RevisionPool,
    private readonly headers: string[],
    private readonly body: 'none' | 'stream' | 'chunked',
    private readonly maxBodyBytes: number,
    private readonly events: CallEvents,
    nowMs: number,
    readonly inbound: InboundHeaders,
    readonly trace: TraceContext | undefined,
  ) {
    this.startedAt = nowMs;
    this.remoteAddress = req.socket.remoteAddress;
    this.bytesIn = body === 'stream' ? (inbound.contentLength ?? 0) : 0;
  }

  /**
   * `maxQueueWaitMs`: how long a request may wait for a slot while the revision is at max
   * instances before it gets 429, when that is shorter than the request timeout.
   */
  start(timeoutMs: number, maxQueueWaitMs = Infinity): void {
    this.pool.arrived();
    this.timer = setTimeout(() => this.onTimeout(), timeoutMs);
    this.res.once('close', () => this.onClientClose());
    const slot = this.pool.tryAcquire();
    if (slot) {
      this.grant(slot);
      return;
    }
    this.enqueuedAt = Date.now();
    if (maxQueueWaitMs < timeoutMs) {
      const t = setTimeout(() => {
        const limit = this.slot || this.finished ? undefined : this.pool.capacityError();
        if (limit) {
          this.pool.cancel(this);
          this.fail(limit);
        }
      }, maxQueueWaitMs);
      this.res.once('close', () => clearTimeout(t));
    }
    if (!this.pool.enqueue(this)) {
      this.fail(
        new KumoError('RESOURCE_EXHAUSTED', `too many requests are waiting for ${this.pool.settings.maxInstances} instance(s) of this revision; retry later`, {
          retryAfterSec: 1,
        }),
      );
    }
  }

  // ---- Waiter -------------------------------------------------------------------------------

  grant(slot: InstanceSlot): void {
    this.slot = slot;
    this.instanceId = slot.id;
    if (this.finished) {
      this.releaseSlot();
      return;
    }
    const upstream = slot.upstream;
    if (!upstream) {
      this.fail(new KumoError('UNAVAILABLE', 'the instance is not ready'));
      return;
    }
    const body: Readable | null =
      this.body === 'none'
        ? null
        : this.body === 'stream'
          ? this.req
          : Readable.from(
              limitBody(
                this.req,
                this.maxBodyBytes,
                () => (this.tooLarge = true),
                (n) => (this.bytesIn = n),
              ),
            );
    upstream.dispatch(
      { path: this.req.url ?? '/', method: this.req.method as 'GET', headers: this.headers, body, blocking: false },
      // undici's handler interface (onConnect/onHeaders/onData/onComplete/onError), implemented below
      this,
    );
  }

  fail(err: KumoError): void {
    if (this.finished) return;
    sendError(this.res, err);
    this.finish(httpStatusOf(err.code));
  }

  // ---- undici dispatch handler -------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.finished) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.finished) return false;
    this.resume = resume;
    this.status = statusCode;
    if (statusCode < 200) return true; // 100-continue and friends are not forwarded
    this.res.writeHead(statusCode, statusText, downstreamHeaders(rawHeaders));
    // Headers, a small body and the end usually arrive in one tick: send them in one write.
    this.res.cork();
    process.nextTick(uncork, this.res);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return false;
    this.bytesOut += chunk.length;
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', () => this.resume?.());
    return ok;
  }

  onComplete(): void {
    if (this.finished) return;
    this.res.end();
    this.finish(this.status);
  }

  onError(err: Error): void {
    if (this.finished) return;
    if (this.tooLarge) {
      this.fail(new KumoError('PAYLOAD_TOO_LARGE', `request body is over ${this.maxBodyBytes / 1024 ** 2} MiB (Cloud Run's HTTP/1 limit); send less or stream it in parts`));
      return;
    }
    const where = this.slot ? `instance ${this.slot.id}` : 'the instance';
    this.fail(
      new KumoError('BAD_GATEWAY', `${where} closed the connection before answering (${(err as NodeJS.ErrnoException).code ?? err.message}); it may have crashed or run out of memory — see \`kumo run services logs read\``),
    );
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private onTimeout(): void {
    if (this.finished) return;
    this.timedOut = true;
    if (!this.slot) {
      this.pool.cancel(this);
      const limit = this.pool.capacityError();
      if (limit) {
        this.fail(limit);
        return;
      }
      this.fail(new KumoError('DEADLINE_EXCEEDED', `no instance was ready within the request timeout of ${this.pool.settings.timeoutMs / 1000} s`));
      return;
    }
    const abort = this.abortUpstream;
    this.fail(new KumoError('DEADLINE_EXCEEDED', `the request took longer than its timeout of ${this.pool.settings.timeoutMs / 1000} s (--timeout); the upstream request was aborted`));
    abort?.(new KumoError('DEADLINE_EXCEEDED', 'request timeout'));
  }

  private onClientClose(): void {
    if (this.finished) return;
    if (!this.slot) this.pool.cancel(this);
    this.abortUpstream?.();
    this.finish(0);
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.releaseSlot();
    this.pool.departed();
    this.events.ended(this, status);
  }

  private releaseSlot(): void {
    const s = this.slot;
    if (!s) return;
    this.slot = undefined;
    this.pool.release(s);
  }

  get wasTimedOut(): boolean {
    return this.timedOut;
  }
}
