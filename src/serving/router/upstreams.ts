/**
 * Persistent HTTP/1.1 connections from the router to each instance: one pool per instance,
 * one request at a time per connection (no pipelining). Idle connections are reused newest
 * first and dropped before the instance's own keep-alive timeout can close them under a
 * request. Every socket gets its listeners once; they forward to whichever call owns it now.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { InstanceSlot } from '../dispatcher/revision-pool.js';

/** What a call on an upstream connection hears from it. */
export interface UpstreamOwner {
  /** `chunk` is only valid during the call: it is a view of a shared read buffer. */
  onUpstreamData(chunk: Buffer): void;
  /** The instance ended its side (FIN). */
  onUpstreamEnd(): void;
  /** The connection is gone; `err` when it failed (refused, reset). */
  onUpstreamClose(err: Error | undefined): void;
  onUpstreamDrain(): void;
}

/** Without a `Keep-Alive: timeout` hint: Node.js servers close idle connections after 5 s. */
const DEFAULT_IDLE_MS = 4000;
/** Dropped this long before the instance's hint, as the hint is the instance's own deadline. */
const IDLE_MARGIN_MS = 1000;

export class UpstreamConn {
  owner: UpstreamOwner | undefined;
  /** It has carried a request before (a failure on it may be a stale keep-alive, not the app). */
  reused = false;
  idleSince = 0;
  idleLimitMs = DEFAULT_IDLE_MS;
  readonly socket: Socket;
  private error: Error | undefined;
  private closed = false;

  constructor(readonly pool: UpstreamPool) {
    // Reads land in one buffer shared by every upstream connection (no allocation per read):
    // owners must copy whatever they keep past the callback.
    const s = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: pool.readBuffer,
        callback: (n, buf) => {
          const o = this.owner;
          if (o) o.onUpstreamData((buf as Buffer).subarray(0, n));
          else this.destroy(); // bytes nobody asked for: the connection cannot be trusted
          return true;
        },
      },
    });
    this.socket = s;
    s.on('end', () => this.owner?.onUpstreamEnd());
    s.on('drain', () => this.owner?.onUpstreamDrain());
    s.on('error', (err) => (this.error = err));
    s.on('close', () => {
      this.closed = true;
      this.pool.gone(this);
      const o = this.owner;
      this.owner = undefined;
      o?.onUpstreamClose(this.error);
    });
  }

  get alive(): boolean {
    return !this.closed && !this.socket.destroyed && this.socket.writable;
  }

  /** The instance hinted how long it keeps idle connections. */
  setKeepAlive(ms: number | undefined): void {
    this.idleLimitMs = ms === undefined ? DEFAULT_IDLE_MS : Math.max(0, ms - IDLE_MARGIN_MS);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class UpstreamPool {
  private readonly idle: UpstreamConn[] = [];
  /** Open connections, idle or busy. */
  open = 0;
  /** In the registry's sweep list. */
  tracked = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly maxIdle: number,
    readonly readBuffer: Buffer,
  ) {}

  /** An idle connection still worth using, or a new one (connecting). */
  acquire(nowMs: number): UpstreamConn {
    for (;;) {
      const c = this.idle.pop();
      if (!c) break;
      if (c.alive && nowMs - c.idleSince < c.idleLimitMs) return c;
      c.destroy();
    }
    this.open++;
    return new UpstreamConn(this);
  }

  /** A connection whose exchange ended cleanly goes back to the pool. */
  release(c: UpstreamConn, nowMs: number): void {
    c.owner = undefined;
    c.reused = true;
    if (!c.alive || this.idle.length >= this.maxIdle || c.idleLimitMs <= 0) {
      c.destroy();
      return;
    }
    if (c.socket.isPaused()) c.socket.resume();
    c.idleSince = nowMs;
    this.idle.push(c);
  }

  /** Called by a connection when its socket closed. */
  gone(c: UpstreamConn): void {
    this.open--;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Close connections idle past their limit. */
  sweep(nowMs: number): void {
    for (const c of [...this.idle]) if (nowMs - c.idleSince >= c.idleLimitMs) c.destroy();
  }

  destroyAll(): void {
    for (const c of [...this.idle]) c.destroy();
  }
}

/** Every instance's pool, found from its concurrency slot. */
export class Upstreams {
  private readonly byInstance = new WeakMap<InstanceSlot, UpstreamPool>();
  private readonly live = new Set<UpstreamPool>();
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly maxIdlePerInstance = 256) {}

  /** The pool of the instance behind `slot`; undefined when it has no address yet. */
  of(slot: InstanceSlot): UpstreamPool | undefined {
    let p = this.byInstance.get(slot);
    if (!p) {
      const ep = slot.instance?.endpoint;
      if (!ep) return undefined;
      p = new UpstreamPool(ep.host, ep.port, this.maxIdlePerInstance, this.readBuffer);
      this.byInstance.set(slot, p);
    }
    if (!p.tracked) {
      p.tracked = true;
      this.live.add(p);
    }
    return p;
  }

  sweep(nowMs: number): void {
    for (const p of this.live) {
      p.sweep(nowMs);
      // an instance's pool with nothing open is made again on its next request
      if (p.open === 0) {
        p.tracked = false;
        this.live.delete(p);
      }
    }
  }

  close(): void {
    for (const p of this.live) p.destroyAll();
    this.live.clear();
  }
}
