/**
 * One proxied request on the raw engine: wait for a concurrency slot, write the rewritten head
 * (and the first body bytes) to a persistent connection to the instance in one write, stream
 * the body both ways with backpressure, read the response framing to know where it ends, and
 * answer 429/502/503/504 with the reason when something goes wrong.
 */
import { httpStatusOf, KumoError } from '../../shared/errors.js';
import { traceHeaders } from '../../observability/structured/index.js';
import type { TraceContext } from '../../observability/structured/index.js';
import type { InstanceSlot, RevisionPool, Waiter } from '../dispatcher/revision-pool.js';
import { ChunkedReader } from './chunked.js';
import type { InboundHeaders } from './headers.js';
import type { ProxyCall } from './proxy-call.js';
import type { ClientConn } from './raw-conn.js';
import { FORWARDED, MAX_HEAD_BYTES, XFF, findHeadEnd } from './request-head.js';
import type { RequestHead } from './request-head.js';
import { CHUNKED, clientHead, LENGTH, NO_BODY, parseResponseHead, UNTIL_CLOSE } from './response-head.js';
import type { ResponseHead } from './response-head.js';
import type { UpstreamConn, UpstreamOwner, UpstreamPool } from './upstreams.js';
import { CONTINUE, errorResponse, upstreamHead } from './wire.js';
import { Accumulated } from './octets.js';

/** Reasons the client connection stops reading (see `ClientConn.pause`). */
export const PAUSE_BODY_WAIT = 1;
export const PAUSE_UPSTREAM = 2;

/** Body bytes held while no upstream is attached before the client is paused. */
const HOLD_LIMIT = 64 * 1024;

export class RawCall implements Waiter, UpstreamOwner, ProxyCall {
  cancelled = false;
  enqueuedAt = 0;
  readonly startedAt: number;
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '1.1';
  readonly inbound: InboundHeaders;
  readonly remoteAddress: string | undefined;
  instanceId: string | undefined;
  bytesIn: number;
  bytesOut = 0;
  private slot: InstanceSlot | undefined;
  private upPool: UpstreamPool | undefined;
  private up: UpstreamConn | undefined;
  private reusedConn = false;
  private upHead: Buffer | undefined;
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private bodyDone: boolean;
  /** The response head so far, when it came in pieces. */
  private readonly rhead = new Accumulated();
  private rscan = 0;
  private rh: ResponseHead | undefined;
  private left = 0;
  private rchunked: ChunkedReader | undefined;
  private headSent = false;
  private status = 0;
  private finished = false;
  private retried = false;
  /** The upstream connection can carry another request after this one. */
  private clean = true;
  private queueTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: ClientConn,
    readonly pool: RevisionPool,
    private readonly head: RequestHead,
    private readonly headBuf: Buffer,
    readonly trace: TraceContext | undefined,
  ) {
    this.startedAt = conn.engine.now();
    this.method = head.method;
    this.url = head.target;
    this.inbound = head.h;
    this.remoteAddress = conn.remoteAddress;
    const h = head.h;
    this.bodyDone = !h.chunked && !(h.contentLength ?? 0);
    this.bytesIn = h.chunked ? 0 : (h.contentLength ?? 0);
  }

  /** The request as telemetry reads it (`ProxyCall.req`). */
  get req(): this {
    return this;
  }

  start(timeoutMs: number, maxQueueWaitMs = Infinity): void {
    this.pool.arrived();
    this.conn.arm(timeoutMs);
    const slot = this.pool.tryAcquire();
    if (slot) {
      this.grant(slot);
      return;
    }
    this.enqueuedAt = this.conn.engine.now();
    if (maxQueueWaitMs < timeoutMs) {
      this.queueTimer = setTimeout(() => {
        const limit = this.slot || this.finished ? undefined : this.pool.capacityError();
        if (limit) {
          this.pool.cancel(this);
          this.fail(limit);
        }
      }, maxQueueWaitMs);
    }
    if (!this.pool.enqueue(this)) {
      this.fail(new KumoError('RESOURCE_EXHAUSTED', `too many requests are waiting for ${this.pool.settings.maxInstances} instance(s) of this revision; retry later`, { retryAfterSec: 1 }));
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
    const p = this.conn.engine.upstreams.of(slot);
    if (!p) {
      this.fail(new KumoError('UNAVAILABLE', 'the instance is not ready'));
      return;
    }
    this.upPool = p;
    this.send(p);
  }

  fail(err: KumoError): void {
    if (this.finished) return;
    this.abortUpstream();
    if (this.headSent) {
      this.conn.socket.destroy();
    } else {
      const close = this.conn.bodyPending || this.conn.closeAfter;
      this.conn.answer(errorResponse(err, close), close);
    }
    this.finish(httpStatusOf(err.code));
  }

  // ---- the request --------------------------------------------------------------------------

  private send(p: UpstreamPool): void {
    const up = p.acquire(this.conn.engine.now());
    up.owner = this;
    this.up = up;
    this.reusedConn = up.reused;
    let out = this.upHead;
    let rest: Buffer[] | undefined;
    if (!out) {
      const held = this.held;
      this.held = undefined;
      const small = held && this.heldBytes <= HOLD_LIMIT;
      out = upstreamHead(this.headBuf, this.head, this.extraFields(), this.trace === undefined, small ? Buffer.concat(held) : undefined);
      if (held && !small) rest = held;
      // kept for one retry on a fresh connection (requests without a body only)
      if (this.bodyDone && this.heldBytes === 0) this.upHead = out;
      this.heldBytes = 0;
    }
    if (this.head.expectContinue && this.conn.bodyPending && !this.headSent) this.conn.write(CONTINUE);
    let ok = up.socket.write(out);
    if (rest) for (const b of rest) ok = up.socket.write(b);
    if (!ok) this.conn.pause(PAUSE_UPSTREAM);
    this.conn.resume(PAUSE_BODY_WAIT);
  }

  /** kumo's own fields: framing, trace context, X-Forwarded-* and Forwarded. */
  private extraFields(): string {
    const h = this.head.h;
    const f = this.head.fields;
    let xff: string | undefined;
    let fwd: string | undefined;
    for (let k = 0; k < f.length; k += 5) {
      const kind = f[k + 4];
      if (kind !== XFF && kind !== FORWARDED) continue;
      const v = this.headBuf.toString('latin1', f[k + 2], f[k + 3]);
      if (kind === XFF) xff = xff === undefined ? v : `${xff}, ${v}`;
      else fwd = fwd === undefined ? v : `${fwd}, ${v}`;
    }
    let s = h.chunked ? 'transfer-encoding: chunked\r\n' : '';
    if (this.trace) {
      const t = traceHeaders(this.trace);
      s += `traceparent: ${t.traceparent}\r\nx-cloud-trace-context: ${t['x-cloud-trace-context']}\r\n`;
    }
    const host = h.host ?? '';
    const c = this.conn;
    return `${s}x-forwarded-for: ${xff === undefined ? '' : `${xff}, `}${c.ip}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${host}\r\nforwarded: ${fwd === undefined ? '' : `${fwd}, `}for=${c.forIp};host=${host};proto=http\r\n`;
  }

  /** Body bytes from the client (framing included, as validated); `done` on its last bytes. */
  requestBody(chunk: Buffer | undefined, done: boolean): void {
    if (this.finished) return;
    if (done) this.bodyDone = true;
    if (!chunk) return;
    const up = this.up;
    if (up) {
      if (!up.socket.write(chunk)) this.conn.pause(PAUSE_UPSTREAM);
      return;
    }
    (this.held ??= []).push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > HOLD_LIMIT) this.conn.pause(PAUSE_BODY_WAIT);
  }

  bodyTooLarge(): void {
    this.fail(
      new KumoError('PAYLOAD_TOO_LARGE', `request body is over ${this.conn.engine.maxBodyBytes / 1024 ** 2} MiB (Cloud Run's HTTP/1 limit); send less or stream it in parts`),
    );
  }

  // ---- the response (UpstreamOwner) ---------------------------------------------------------

  onUpstreamData(chunk: Buffer): void {
    if (this.finished) return;
    const rh = this.rh;
    if (!rh) {
      this.readHead(chunk);
      return;
    }
    let n = chunk.length;
    let complete = false;
    if (rh.framing === LENGTH) {
      if (n > this.left) n = this.left;
      this.left -= n;
      complete = this.left === 0;
    } else if (rh.framing === CHUNKED) {
      const r = this.rchunked as ChunkedReader;
      const end = r.read(chunk, 0, chunk.length);
      if (end < 0) {
        this.upstreamFailed(`a malformed chunked body (${r.error ?? 'bad framing'})`);
        return;
      }
      n = end;
      complete = r.done;
    }
    if (complete && n < chunk.length) this.clean = false;
    this.bytesOut += n;
    // a copy: the chunk is a view of the shared read buffer, and a write may be queued
    if (n > 0) this.forward(Buffer.from(chunk.subarray(0, n)));
    if (complete) this.complete();
  }

  private readHead(chunk: Buffer): void {
    const buf = this.rhead.append(chunk);
    let at = 0;
    for (;;) {
      const end = findHeadEnd(buf, at, this.rscan);
      if (end === -2) return this.upstreamFailed('a bare LF in its response head');
      if (end < 0) {
        if (buf.length - at > MAX_HEAD_BYTES) return this.upstreamFailed('a response head over 64 KiB');
        if (at > 0) this.rhead.set(buf.subarray(at));
        this.rhead.own(); // the read buffer is reused
        this.rscan = buf.length - at;
        return;
      }
      this.rhead.set(undefined);
      this.rscan = 0;
      const rh = parseResponseHead(buf, at, end, this.method === 'HEAD');
      if (typeof rh === 'string') return this.upstreamFailed(rh);
      if (rh.status >= 200) return this.respond(buf, rh, end);
      // 100 Continue, 103 Early Hints: not passed on; 101 was never asked for
      if (rh.status === 101) return this.upstreamFailed('101 Switching Protocols to a request that asked for no switch');
      at = end;
      if (at === buf.length) return;
    }
  }

  private respond(buf: Buffer, rh: ResponseHead, end: number): void {
    this.rh = rh;
    this.status = rh.status;
    this.up?.setKeepAlive(rh.keepAliveMs);
    if (rh.close) this.clean = false;
    const close = this.conn.closeAfter || rh.framing === UNTIL_CLOSE;
    if (close) this.conn.closeAfter = true;
    let n = buf.length;
    let complete = false;
    if (rh.framing === NO_BODY) {
      n = end;
      complete = true;
    } else if (rh.framing === LENGTH) {
      this.left = rh.contentLength;
      n = Math.min(buf.length, end + this.left);
      this.left -= n - end;
      complete = this.left === 0;
    } else if (rh.framing === CHUNKED) {
      const r = (this.rchunked = new ChunkedReader());
      n = r.read(buf, end, buf.length);
      if (n < 0) return this.upstreamFailed(`a malformed chunked body (${r.error ?? 'bad framing'})`);
      complete = r.done;
    }
    if (complete && n < buf.length) this.clean = false;
    this.headSent = true;
    this.bytesOut += n - end;
    this.forward(clientHead(buf, rh, close, end, n));
    if (complete) this.complete();
  }

  private forward(data: Buffer): void {
    if (!this.conn.write(data)) this.up?.socket.pause();
  }

  onClientDrain(): void {
    const s = this.up?.socket;
    if (s?.isPaused()) s.resume();
  }

  onUpstreamDrain(): void {
    this.conn.resume(PAUSE_UPSTREAM);
  }

  onUpstreamEnd(): void {
    if (this.finished || this.rh?.framing !== UNTIL_CLOSE) return;
    this.clean = false;
    this.complete();
  }

  onUpstreamClose(err: Error | undefined): void {
    this.up = undefined;
    if (this.finished) return;
    if (this.rh?.framing === UNTIL_CLOSE) {
      this.clean = false;
      this.complete();
      return;
    }
    // A reused connection the instance closed before answering a bodiless request: its keep-alive
    // ended under us, so try once more on a fresh one (as nginx does for cached connections).
    const p = this.upPool;
    if (p && !this.rh && !this.rhead.bytes && this.reusedConn && !this.retried && this.upHead && ['GET', 'HEAD', 'OPTIONS'].includes(this.method)) {
      this.retried = true;
      this.send(p);
      return;
    }
    const code = err && 'code' in err && typeof err.code === 'string' ? err.code : 'connection closed';
    this.upstreamFailed(`closed the connection before answering (${code})`);
  }

  private upstreamFailed(what: string): void {
    const where = this.slot ? `instance ${this.slot.id}` : 'the instance';
    const text = what.startsWith('closed') ? `${where} ${what}` : `${where} sent ${what}`;
    this.fail(new KumoError('BAD_GATEWAY', `${text}; it may have crashed or run out of memory — see \`kumo run services logs read\``));
  }

  private complete(): void {
    const up = this.up;
    this.up = undefined;
    if (up) {
      if (this.clean && this.bodyDone && this.upPool) this.upPool.release(up, this.conn.engine.now());
      else {
        up.owner = undefined;
        up.destroy();
      }
    }
    this.finish(this.status);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  onTimeout(): void {
    if (this.finished) return;
    if (!this.slot) {
      this.pool.cancel(this);
      this.fail(this.pool.capacityError() ?? new KumoError('DEADLINE_EXCEEDED', `no instance was ready within the request timeout of ${this.pool.settings.timeoutMs / 1000} s`));
      return;
    }
    this.fail(new KumoError('DEADLINE_EXCEEDED', `the request took longer than its timeout of ${this.pool.settings.timeoutMs / 1000} s (--timeout); the upstream request was aborted`));
  }

  clientGone(): void {
    if (this.finished) return;
    if (!this.slot) this.pool.cancel(this);
    this.abortUpstream();
    this.finish(0);
  }

  private abortUpstream(): void {
    const up = this.up;
    if (!up) return;
    this.up = undefined;
    up.owner = undefined;
    up.destroy();
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.held = undefined;
    this.releaseSlot();
    this.pool.departed();
    this.conn.engine.events.ended(this, status);
    this.conn.callEnded(this);
  }

  private releaseSlot(): void {
    const s = this.slot;
    if (!s) return;
    this.slot = undefined;
    this.pool.release(s);
  }
}
