/**
 * WebSocket (and any HTTP/1.1 Upgrade) through the router: take a concurrency slot, open a
 * connection to the instance, replay the handshake and splice the two sockets together. The
 * slot is held for as long as the connection lives, as Cloud Run counts open WebSockets.
 */
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { httpStatusOf, KumoError } from '../../shared/errors.js';
import type { InstanceSlot, RevisionPool, Waiter } from '../dispatcher/revision-pool.js';

export function rejectUpgrade(socket: Duplex, err: KumoError): void {
  const status = httpStatusOf(err.code);
  const body = `${err.message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${err.code}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${
      err.fields.retryAfterSec !== undefined ? `retry-after: ${err.fields.retryAfterSec}\r\n` : ''
    }\r\n${body}`,
  );
}

export class UpgradeCall implements Waiter {
  cancelled = false;
  enqueuedAt = Date.now();
  private slot: InstanceSlot | undefined;
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly pool: RevisionPool,
    private readonly headers: string[],
  ) {}

  start(timeoutMs: number): void {
    this.socket.on('error', () => this.end());
    this.socket.once('close', () => this.end());
    this.timer = setTimeout(() => {
      if (this.slot || this.done) return;
      this.pool.cancel(this);
      this.fail(new KumoError('DEADLINE_EXCEEDED', 'no instance was ready within the request timeout'));
    }, timeoutMs);
    const slot = this.pool.tryAcquire();
    if (slot) this.grant(slot);
    else if (!this.pool.enqueue(this)) this.fail(new KumoError('RESOURCE_EXHAUSTED', 'too many requests waiting', { retryAfterSec: 1 }));
  }

  grant(slot: InstanceSlot): void {
    this.slot = slot;
    if (this.timer) clearTimeout(this.timer);
    if (this.done) {
      this.end();
      return;
    }
    const ep = slot.instance?.endpoint;
    if (!ep) {
      this.fail(new KumoError('UNAVAILABLE', 'the instance is not ready'));
      return;
    }
    const upstream = connect({ host: ep.host, port: ep.port });
    upstream.setNoDelay(true);
    let head = `${this.req.method ?? 'GET'} ${this.req.url ?? '/'} HTTP/1.1\r\n`;
    for (let i = 0; i < this.headers.length; i += 2) head += `${this.headers[i]}: ${this.headers[i + 1]}\r\n`;
    upstream.write(`${head}\r\n`);
    if (this.head.length > 0) upstream.write(this.head);
    upstream.pipe(this.socket);
    this.socket.pipe(upstream);
    upstream.on('error', () => {
      if (!this.done) rejectUpgrade(this.socket, new KumoError('BAD_GATEWAY', 'the instance refused the connection'));
      this.end();
    });
    upstream.once('close', () => {
      this.socket.destroy();
      this.end();
    });
    this.socket.once('close', () => upstream.destroy());
  }

  fail(err: KumoError): void {
    if (this.done) return;
    rejectUpgrade(this.socket, err);
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.slot) this.pool.cancel(this);
    const s = this.slot;
    this.slot = undefined;
    if (s) this.pool.release(s);
  }
}
