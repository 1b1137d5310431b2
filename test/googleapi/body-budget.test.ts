/**
 * What the Google API port holds in memory for bodies: an `open` API (as Pub/Sub's data plane will
 * be: no token, large messages) is still bounded by its own request limit and, across calls, by the
 * server's body budget: beyond it a call gets RESOURCE_EXHAUSTED (429 with Retry-After over REST),
 * while the calls already in flight finish. Slow senders hold only what they sent. A `token` API
 * refuses a token-less call from its headers, before reading the body, over REST and gRPC.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as h2connect } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGoogleApiServer } from '../../src/googleapi/index.js';
import type { GoogleApiPlugin, GoogleApiServer } from '../../src/googleapi/index.js';
import { commonProtoDir } from '../../src/googleapi/protos.js';
import { BodyBudget } from '../../src/shared/body-budget.js';
import { KumoError } from '../../src/shared/errors.js';

const MiB = 1024 * 1024;
const CANCEL = 'google.longrunning.Operations.CancelOperation';

let server: GoogleApiServer;
let port = 0;
const budget = new BodyBudget(4 * MiB);
let handled = 0;

beforeAll(async () => {
  const open: GoogleApiPlugin = {
    name: 'open-test',
    protos: { includeDirs: [commonProtoDir()], files: ['google/longrunning/operations.proto'] },
    services: ['google.longrunning.Operations'],
    handlers: {
      [CANCEL]: () => {
        handled++;
        return {};
      },
    },
    // Like Pub/Sub's data plane: no token; its own request limit.
    auth: (method) => (method === CANCEL ? 'open' : 'token'),
    maxRequestBytes: 3 * MiB,
  };
  server = createGoogleApiServer({
    host: '127.0.0.1',
    port: 0,
    openOnLoopback: false,
    authenticate: () => {
      throw new KumoError('UNAUTHENTICATED', 'no tokens in this test');
    },
    plugins: [open],
    bodyBudget: budget,
    log: () => undefined,
  });
  port = (await server.listen()).port;
});

afterAll(async () => {
  await server.close();
});

/** A REST call that sends `declared` bytes of body as told, and resolves with the status line once one arrives. */
class SlowRest {
  readonly socket: Socket;
  status: Promise<{ status: number; head: string }>;
  constructor(path: string, declared: number, method = 'POST') {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.write(`${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`);
    this.status = new Promise((resolve) => {
      let text = '';
      this.socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        const m = /^HTTP\/1\.1 (\d+)/.exec(text);
        if (m && text.includes('\r\n\r\n')) resolve({ status: Number(m[1]), head: text.slice(0, text.indexOf('\r\n\r\n')) });
      });
      this.socket.on('close', () => resolve({ status: 0, head: text }));
    });
  }
  send(bytes: number, fill = 0x20): Promise<void> {
    return new Promise((resolve) => this.socket.write(Buffer.alloc(bytes, fill), () => resolve()));
  }
}

/** `{"name": "operations/x", "padding…"}`-shaped JSON of about `bytes` (spaces pad it). */
function json(bytes: number): Buffer {
  const core = Buffer.from('{"name":"operations/x"}');
  return Buffer.concat([Buffer.alloc(Math.max(0, bytes - core.length), 0x20), core]);
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('REST bodies', () => {
  it('refuses a declared body over the API limit before reading it (413)', async () => {
    const c = new SlowRest('/v1/operations/x:cancel', 5 * MiB);
    const { status, head } = await c.status;
    expect(status).toBe(413);
    expect(head.toLowerCase()).toContain('connection: close');
    c.socket.destroy();
  });

  it('caps bodies in flight together: beyond the budget 429 with Retry-After, the others finish', async () => {
    const body = json(1.5 * MiB);
    const a = new SlowRest('/v1/operations/x:cancel', body.length);
    const b = new SlowRest('/v1/operations/x:cancel', body.length);
    // Each sends all but its last byte and waits: together they hold about 3 MiB of the 4.
    await Promise.all([
      new Promise<void>((r) => a.socket.write(body.subarray(0, body.length - 1), () => r())),
      new Promise<void>((r) => b.socket.write(body.subarray(0, body.length - 1), () => r())),
    ]);
    await until('two bodies held', () => budget.usedBytes >= 3 * MiB - 2);
    const c = new SlowRest('/v1/operations/x:cancel', 2 * MiB);
    void c.send(2 * MiB);
    const refused = await c.status;
    expect(refused.status).toBe(429);
    expect(refused.head.toLowerCase()).toContain('retry-after: 1');
    c.socket.destroy();
    const before = handled;
    a.socket.write(body.subarray(body.length - 1));
    b.socket.write(body.subarray(body.length - 1));
    expect((await a.status).status).toBe(200);
    expect((await b.status).status).toBe(200);
    expect(handled).toBe(before + 2);
    a.socket.destroy();
    b.socket.destroy();
    await until('the budget freed', () => budget.usedBytes === 0);
    // Room again.
    const d = new SlowRest('/v1/operations/x:cancel', body.length);
    await d.send(0);
    d.socket.write(body);
    expect((await d.status).status).toBe(200);
    d.socket.destroy();
  });

  it('refuses a token API without a token from its headers, without reading the body, and closes', async () => {
    const c = new SlowRest('/v1/operations/x', 30 * MiB, 'DELETE');
    void c.send(1 * MiB);
    const { status, head } = await c.status;
    expect(status).toBe(401);
    expect(head.toLowerCase()).toContain('connection: close');
    expect(budget.usedBytes).toBe(0);
    c.socket.destroy();
  });
});

/** A raw gRPC stream that sends a length-prefixed message of `size` bytes as told. */
function grpcStream(session: ClientHttp2Session, path: string, size: number, headers: Record<string, string> = {}) {
  const stream: ClientHttp2Stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  let sent = 0;
  const status = new Promise<{ code: number | undefined; message: string }>((resolve) => {
    let code: number | undefined;
    let message = '';
    const take = (h: Record<string, string | string[] | number | undefined>) => {
      if (h['grpc-status'] !== undefined) {
        code = Number(h['grpc-status']);
        const m = h['grpc-message'];
        message = decodeURIComponent(typeof m === 'string' ? m : '');
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', () => resolve({ code, message }));
    stream.resume();
  });
  // CancelOperationRequest { name = 1 }: tag 0x0a, varint length, bytes.
  const varint: number[] = [];
  for (let n = size; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + varint.length + size, 1);
  stream.write(Buffer.concat([head, Buffer.from([0x0a, ...varint])]));
  const send = (bytes: number): Promise<void> =>
    new Promise((resolve) => {
      const pump = () => {
        while (bytes > 0 && !stream.destroyed && !stream.closed) {
          const n = Math.min(bytes, 16384);
          bytes -= n;
          sent += n;
          if (!stream.write(Buffer.alloc(n, 0x61))) return void stream.once('drain', pump);
        }
        resolve();
      };
      pump();
    });
  return { stream, status, send, sent: () => sent };
}

describe('gRPC messages', () => {
  let session: ClientHttp2Session;
  beforeAll(() => {
    session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
  });
  afterAll(() => {
    session.close();
  });

  it('counts message bytes as they arrive (the hook into grpc-js holds)', async () => {
    const before = server.grpcStreamsWatched;
    const s = grpcStream(session, '/google.longrunning.Operations/CancelOperation', 1000);
    await s.send(1000);
    s.stream.end();
    expect((await s.status).code).toBe(0);
    expect(server.grpcStreamsWatched).toBe(before + 1);
  });

  it('caps messages in flight together: beyond the budget RESOURCE_EXHAUSTED, the others finish', async () => {
    const a = grpcStream(session, '/google.longrunning.Operations/CancelOperation', 1.5 * MiB);
    const b = grpcStream(session, '/google.longrunning.Operations/CancelOperation', 1.5 * MiB);
    await Promise.all([a.send(1.5 * MiB - 1), b.send(1.5 * MiB - 1)]);
    await until('two messages held', () => budget.usedBytes >= 3 * MiB - 2);
    const c = grpcStream(session, '/google.longrunning.Operations/CancelOperation', 2 * MiB);
    void c.send(2 * MiB);
    const refused = await c.status;
    expect(refused.code).toBe(8);
    expect(refused.message).toContain('retry shortly');
    await a.send(1);
    await b.send(1);
    a.stream.end();
    b.stream.end();
    expect((await a.status).code).toBe(0);
    expect((await b.status).code).toBe(0);
    await until('the budget freed', () => budget.usedBytes === 0);
  });

  it("refuses a message over the API's limit once its bytes pass it", async () => {
    const s = grpcStream(session, '/google.longrunning.Operations/CancelOperation', 4 * MiB);
    void s.send(4 * MiB);
    const { code, message } = await s.status;
    expect(code).toBe(8);
    expect(message).toContain('at most 3145728 bytes');
    expect(s.sent()).toBeLessThan(4 * MiB);
  });

  it('refuses a token RPC without a token from its metadata: at most one stream window is sent', async () => {
    const s = grpcStream(session, '/google.longrunning.Operations/DeleteOperation', 30 * MiB);
    void s.send(30 * MiB);
    const { code } = await s.status;
    expect(code).toBe(16);
    expect(s.sent()).toBeLessThanOrEqual(256 * 1024);
    expect(budget.usedBytes).toBe(0);
  });
});
