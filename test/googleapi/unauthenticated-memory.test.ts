/**
 * Unauthenticated calls cannot grow the server: 20 concurrent 30 MB REST bodies and 20 concurrent
 * 30 MB gRPC messages to the Google API port, and 20 concurrent 30 MB bodies to kumo's own `/api`,
 * none with a token, against a real `kumo server`. Each is refused from its headers before its
 * body is read, and the server's resident memory stays within MAX_GROWTH of what it was before
 * (before the fix the Google API port alone took it from 120 MB to 1.2 GB). It still answers after.
 */
import { readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, removeHome, startKumo } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

const MiB = 1024 * 1024;
const BODY = 30_000_000;
const CALLS = 20;
/** The bound this test holds the server to: growth of its RSS during the flood. */
const MAX_GROWTH = 64 * MiB;
const PARENT = 'projects/kumo-project/locations/us-central1';

let k: KumoServer;
beforeAll(async () => {
  k = await startKumo();
});
afterAll(async () => {
  await k.stop();
  removeHome(k);
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Sample the server's RSS every 20 ms while `work` runs; the peak. */
async function peakRss(work: () => Promise<unknown>): Promise<number> {
  const pid = k.child.pid ?? 0;
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssOf(pid));
}

/** Gives up on a flooding call after this long (it answers within milliseconds when it is refused from its headers). */
const CALL_DEADLINE_MS = 30_000;

/** POST a 30 MB body without a token to `path` on `port`, sending until the answer comes; its status (0: no answer). */
function restFlood(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    setTimeout(() => s.destroy(), CALL_DEADLINE_MS).unref();
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answered = false;
    let text = '';
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      answered = true;
    });
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    s.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${BODY}\r\n\r\n`);
    const pump = () => {
      while (!answered && !s.destroyed && sent < BODY) {
        const n = Math.min(chunk.length, BODY - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
    };
    pump();
  });
}

/** A 30 MB CreateService message without a token on a connection of its own; its grpc-status. */
function grpcFlood(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${k.apiPort}`);
    session.on('error', () => undefined);
    setTimeout(() => session.destroy(), CALL_DEADLINE_MS).unref();
    const stream = session.request({ ':method': 'POST', ':path': '/google.cloud.run.v2.Services/CreateService', 'content-type': 'application/grpc', te: 'trailers' });
    let status: number | undefined;
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve(status);
    });
    stream.resume();
    const head = Buffer.alloc(5);
    head.writeUInt32BE(BODY, 1);
    stream.write(head);
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (status === undefined && !stream.destroyed && !stream.closed && sent < BODY) {
        sent += chunk.length;
        if (!stream.write(chunk)) return void stream.once('drain', pump);
      }
    };
    pump();
  });
}

describe('memory under unauthenticated large calls', () => {
  it(`stays within ${MAX_GROWTH / MiB} MiB of its resident size under ${CALLS} x 30 MB over REST and gRPC (and ${CALLS} more to /api)`, async () => {
    const googleRest = () => restFlood(k.apiPort, `/v2/${PARENT}/services?serviceId=big`);
    // kumo's own API on the front door, the same way.
    const kumoApi = () => restFlood(k.port, '/api/services');
    // Warm every path first, so what is measured is the flood, not first use.
    await Promise.all([googleRest(), grpcFlood(), kumoApi()]);
    const before = rssOf(k.child.pid ?? 0);
    let rest: number[] = [];
    let grpc: (number | undefined)[] = [];
    let own: number[] = [];
    const many = <T>(f: () => Promise<T>) => Promise.all(Array.from({ length: CALLS }, f));
    const peak = await peakRss(async () => {
      [rest, grpc, own] = await Promise.all([many(googleRest), many(grpcFlood), many(kumoApi)]);
    });
    console.log(`kumo server RSS: ${(before / MiB).toFixed(0)} MiB before, ${(peak / MiB).toFixed(0)} MiB at peak (+${((peak - before) / MiB).toFixed(1)} MiB)`);
    expect(peak - before).toBeLessThan(MAX_GROWTH);
    expect(rest).toEqual(Array(CALLS).fill(401));
    expect(grpc).toEqual(Array(CALLS).fill(16));
    expect(own).toEqual(Array(CALLS).fill(401));
    // Still serving.
    const r = await fetch(`http://127.0.0.1:${k.apiPort}/v2/${PARENT}/services`, { headers: { authorization: `Bearer ${adminToken(k)}` } });
    expect(r.status).toBe(200);
  });
});
