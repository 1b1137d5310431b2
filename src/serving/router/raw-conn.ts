/**
 * One client connection on the router's own HTTP/1.1 engine. It reads request heads (strict,
 * bounded), frames request bodies (Content-Length or chunked), runs one call at a time and
 * keeps later pipelined requests until the call ends. Requests for kumo itself, HTTP/1.0,
 * protocol switches and absolute-form targets are handed to Node's http.Server at a request
 * boundary, with the bytes read so far put back on the socket.
 */
import type { Socket } from 'node:net';
import { KumoError } from '../../shared/errors.js';
import type { TraceContext } from '../../observability/structured/index.js';
import type { RevisionPool } from '../dispatcher/revision-pool.js';
import { ChunkedReader } from './chunked.js';
import type { InboundHeaders } from './headers.js';
import type { CallEvents } from './proxy-call.js';
import { RawCall } from './raw-call.js';
import { findHeadEnd, MAX_HEAD_BYTES, parseRequestHead } from './request-head.js';
import type { Upstreams } from './upstreams.js';
import { errorResponse, plainResponse } from './wire.js';
import { Accumulated } from './octets.js';

/** What the front door gives its connections. */
export interface RawEngine {
  readonly maxBodyBytes: number;
  readonly maxQueueWaitMs: number | undefined;
  readonly events: CallEvents;
  readonly upstreams: Upstreams;
  now(): number;
  /** A service's revision for these headers, an error to answer, or undefined: kumo itself. */
  route(h: InboundHeaders): { pool: RevisionPool; trace: TraceContext | undefined } | KumoError | undefined;
  /** Give the socket to Node's http.Server (its unread bytes already put back). */
  handOver(socket: Socket): void;
  forget(conn: ClientConn): void;
}

const NO_BODY = 0;
const LENGTH = 1;
const CHUNKED = 2;

/** Reasons to stop reading from the client besides the call's; it reads again when none is left. */
const PAUSE_PIPELINE = 4;

/** Pipelined bytes kept while a call runs before reading stops. */
const PIPELINE_LIMIT = 64 * 1024;
/** How long a connection that kumo is closing may keep sending before it is cut. */
const LINGER_MS = 2000;

export class ClientConn {
  /** The client's address as forwarded: without `::ffff:`, and as `Forwarded` writes it. */
  readonly ip: string;
  readonly forIp: string;
  readonly remoteAddress: string | undefined;
  call: RawCall | undefined;
  /** Close once the current exchange ends. */
  closeAfter = false;
  /** When the connection last became idle, or when the head being read began (for the sweep). */
  since: number;
  /** Bytes read and not yet taken: a head in progress, or pipelined requests. */
  private readonly pending = new Accumulated();
  private scanFrom = 0;
  private body = NO_BODY;
  private bodyLeft = 0;
  private chunked: ChunkedReader | undefined;
  private pauseBits = 0;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  private readonly onEnd = (): void => this.gone();
  private readonly onClose = (): void => this.closed();
  private readonly onDrain = (): void => this.call?.onClientDrain();
  private readonly onError = (): void => undefined;

  constructor(
    readonly socket: Socket,
    readonly engine: RawEngine,
  ) {
    this.remoteAddress = socket.remoteAddress;
    const addr = socket.remoteAddress ?? '';
    this.ip = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
    this.forIp = this.ip.includes(':') ? `"[${this.ip}]"` : this.ip;
    this.since = engine.now();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
  }

  /** Idle past `idleMs`, or a head that takes longer than `headMs`: close. */
  sweep(nowMs: number, idleMs: number, headMs: number): void {
    if (this.call || this.body !== NO_BODY || this.closing) return;
    if (nowMs - this.since > (this.pending.bytes ? headMs : idleMs)) this.socket.destroy();
  }

  write(data: Buffer): boolean {
    const s = this.socket;
    return s.destroyed || !s.writable ? true : s.write(data);
  }

  pause(bit: number): void {
    if (this.pauseBits === 0) this.socket.pause();
    this.pauseBits |= bit;
  }

  resume(bit: number): void {
    if ((this.pauseBits & bit) === 0) return;
    this.pauseBits &= ~bit;
    if (this.pauseBits === 0 && !this.socket.destroyed) this.socket.resume();
  }

  /** The current request's body has not all arrived. */
  get bodyPending(): boolean {
    return this.body !== NO_BODY;
  }

  /** Fires `call.onTimeout` after `ms` unless the call ends first (one timer per connection). */
  arm(ms: number): void {
    if (this.timer && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(() => this.call?.onTimeout(), ms);
  }

  /** Answer from kumo itself; closes after when asked or when the request body is unread. */
  answer(data: Buffer, close: boolean): void {
    if (close) this.closeAfter = true;
    this.write(data);
  }

  /** The call finished (however it ended): take the next request, or close. */
  callEnded(call: RawCall): void {
    if (this.call !== call) return;
    this.call = undefined;
    this.since = this.engine.now();
    this.pauseBits &= PAUSE_PIPELINE;
    if (this.closeAfter) {
      this.close();
      return;
    }
    if (this.pauseBits !== 0) this.resume(PAUSE_PIPELINE);
    else if (this.socket.isPaused()) this.socket.resume();
    // An unread request body is read and dropped before the next request (as Node does).
    if (this.body === NO_BODY) this.drive();
  }

  private data(chunk: Buffer): void {
    if (this.closing) return;
    if (this.body !== NO_BODY) {
      const used = this.readBody(chunk, 0);
      if (used < 0 || used === chunk.length) return;
      chunk = chunk.subarray(used);
    }
    const buf = this.pending.append(chunk);
    if (!this.call) this.drive();
    else if (buf.length > PIPELINE_LIMIT) this.pause(PAUSE_PIPELINE);
  }

  /** Body bytes in chunk[from..]: forwarded to the call (or dropped); returns how many belong to it, -1 when the connection failed. */
  private readBody(chunk: Buffer, from: number): number {
    let end: number;
    if (this.body === LENGTH) {
      end = Math.min(chunk.length, from + this.bodyLeft);
      this.bodyLeft -= end - from;
    } else {
      const r = this.chunked as ChunkedReader;
      end = r.read(chunk, from, chunk.length);
      if (end < 0) {
        this.refuseBody(400, `the chunked request body is malformed: ${r.error ?? 'bad framing'}`);
        return -1;
      }
      if (this.call) this.call.bytesIn = r.dataBytes;
      if (r.dataBytes > this.engine.maxBodyBytes) {
        this.body = NO_BODY;
        this.closeAfter = true;
        const call = this.call;
        if (call) call.bodyTooLarge();
        else this.refuseBody(413, `request body is over the ${this.engine.maxBodyBytes / 1024 ** 2} MiB limit`);
        return -1;
      }
    }
    const done = this.body === LENGTH ? this.bodyLeft === 0 : (this.chunked as ChunkedReader).done;
    if (done) this.body = NO_BODY;
    const call = this.call;
    if (call) {
      if (end > from) call.requestBody(from === 0 && end === chunk.length ? chunk : chunk.subarray(from, end), done);
      else if (done) call.requestBody(undefined, true);
    } else if (done) {
      // the dropped body of a finished call is over: on to the next request
      const rest = end < chunk.length ? chunk.subarray(end) : undefined;
      if (rest) this.pending.append(rest);
      this.drive();
      return -1;
    }
    return end - from;
  }

  private refuseBody(status: number, message: string): void {
    this.closeAfter = true;
    if (this.call) {
      this.call.fail(new KumoError(status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_ARGUMENT', message));
      return;
    }
    this.answer(plainResponse(status, message, true), true);
    this.close();
  }

  /** Take requests from the buffer while no call runs. */
  private drive(): void {
    while (!this.call && this.body === NO_BODY && !this.closing) {
      let buf = this.pending.bytes;
      if (!buf) return;
      let start = 0;
      while (buf[start] === 13 && buf[start + 1] === 10 && start < 64) start += 2; // stray CRLF between requests
      if (start > 0) {
        buf = start < buf.length ? buf.subarray(start) : undefined;
        this.pending.set(buf);
        this.scanFrom = 0;
        if (!buf) return;
      }
      if (this.scanFrom === 0) this.since = this.engine.now();
      const end = findHeadEnd(buf, 0, this.scanFrom);
      if (end === -2) return this.refuse(400, 'a line of the request head ends with a bare LF; HTTP/1.1 lines end with CRLF');
      if (end === -1 || end > MAX_HEAD_BYTES) {
        if (buf.length > MAX_HEAD_BYTES || end > MAX_HEAD_BYTES) return this.refuse(431, `the request head is over ${MAX_HEAD_BYTES / 1024} KiB`);
        this.scanFrom = buf.length;
        return;
      }
      this.scanFrom = 0;
      if (!this.request(buf, end)) return;
    }
  }

  private refuse(status: number, message: string): void {
    this.answer(plainResponse(status, message, true), true);
    this.close();
  }

  /** One complete head at buf[0, end). False when the connection left this engine. */
  private request(buf: Buffer, end: number): boolean {
    const head = parseRequestHead(buf, 0, end);
    if ('status' in head) {
      this.refuse(head.status, head.message);
      return false;
    }
    const h = head.h;
    const c0 = head.target.charCodeAt(0);
    if (head.minor === 0 || head.upgrade || c0 !== 47 /* / */) return this.handOver();
    const routed = this.engine.route(h);
    if (routed === undefined) return this.handOver();
    const rest = end < buf.length ? buf.subarray(end) : undefined;
    const hasBody = h.chunked || (h.contentLength ?? 0) > 0;
    if (head.close) this.closeAfter = true;
    if (routed instanceof KumoError) {
      this.pending.set(rest);
      this.answer(errorResponse(routed, this.closeAfter || hasBody), hasBody);
      if (this.closeAfter) this.close();
      return !this.closeAfter;
    }
    const max = this.engine.maxBodyBytes;
    if (h.contentLength !== undefined && h.contentLength > max) {
      this.pending.set(rest);
      this.refuse(413, `request body of ${h.contentLength} bytes is over the ${max / 1024 ** 2} MiB limit (Cloud Run's HTTP/1 limit)`);
      return false;
    }
    const call = new RawCall(this, routed.pool, head, buf, routed.trace);
    this.call = call;
    this.pending.set(undefined);
    if (h.chunked) {
      this.body = CHUNKED;
      this.chunked = new ChunkedReader();
    } else if (hasBody) {
      this.body = LENGTH;
      this.bodyLeft = h.contentLength ?? 0;
    }
    if (rest) {
      if (this.body !== NO_BODY) {
        const used = this.readBody(rest, 0);
        if (used >= 0 && used < rest.length) this.pending.set(rest.subarray(used));
      } else {
        this.pending.set(rest);
      }
    }
    if (this.call === call) call.start(routed.pool.settings.timeoutMs, this.engine.maxQueueWaitMs);
    return true;
  }

  private handOver(): false {
    const s = this.socket;
    s.removeListener('data', this.onData);
    s.removeListener('end', this.onEnd);
    s.removeListener('close', this.onClose);
    s.removeListener('drain', this.onDrain);
    s.removeListener('error', this.onError);
    this.closing = true;
    this.engine.forget(this);
    if (this.timer) clearTimeout(this.timer);
    s.pause();
    if (this.pending.bytes) s.unshift(this.pending.bytes);
    this.pending.set(undefined);
    this.engine.handOver(s);
    return false;
  }

  /** Finish writing, then close; a client still sending is cut after a short linger. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.closeAfter = true;
    const s = this.socket;
    s.end();
    if (s.isPaused()) s.resume(); // keep reading (and dropping) so the response is not lost to a reset
    setTimeout(() => s.destroy(), LINGER_MS).unref();
  }

  /** The client ended its side: whatever runs is abandoned (as Node's http.Server does). */
  private gone(): void {
    this.closeAfter = true;
    this.call?.clientGone();
    this.close();
  }

  private closed(): void {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.engine.forget(this);
    this.call?.clientGone();
  }
}
