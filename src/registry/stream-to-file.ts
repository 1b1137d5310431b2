/**
 * Stream a request body to a file descriptor while hashing it, with bounded memory: chunks are
 * gathered into batches written with one writev each (one write in flight at a time), and the
 * source is paused while too much is waiting. Callback-based on purpose: no promise per chunk.
 */
import type { Hash } from 'node:crypto';
import { writev } from 'node:fs';
import type { Readable } from 'node:stream';

/** Write when this much is waiting. */
const BATCH_BYTES = 1024 * 1024;
/** Pause the source when this much is waiting. */
const PAUSE_BYTES = 4 * 1024 * 1024;

export interface StreamResult {
  /** Bytes of the body written to the file (all of them on success). */
  written: number;
}

export class StreamWriteError extends Error {
  /** Bytes that did reach the file before the failure. */
  readonly written: number;
  /** Whether the body (the client) or the file (the disk) failed. */
  readonly side: 'source' | 'file';
  constructor(message: string, written: number, side: 'source' | 'file', cause: unknown) {
    super(message, { cause });
    this.written = written;
    this.side = side;
  }
}

/**
 * Append `source` to `fd` starting at `position`, feeding every byte to `hash` in order.
 * `maxBytes` bounds the body (rejects once exceeded). Resolves when every byte is written.
 */
export function streamToFile(source: Readable, fd: number, position: number, hash: Hash, maxBytes = Infinity): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let written = 0;
    let received = 0;
    let writing = false;
    let ended = false;
    let failed = false;

    let failure: Error | undefined;
    let side: 'source' | 'file' = 'source';
    // Reject only once no write is in flight, so `written` is exactly what reached the file.
    const settleFailure = (): void => {
      if (failure && !writing) reject(new StreamWriteError(failure.message, written, side, failure));
    };
    const fail = (err: unknown, from: 'source' | 'file' = 'source'): void => {
      if (failed) return;
      failed = true;
      side = from;
      failure = err instanceof Error ? err : new Error(String(err));
      source.off('data', onData);
      source.off('end', onEnd);
      source.resume();
      settleFailure();
    };

    const flush = (): void => {
      if (writing || failed || pendingBytes === 0) {
        if (!writing && ended && pendingBytes === 0 && !failed) resolve({ written });
        return;
      }
      const batch = pending;
      const batchBytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      writing = true;
      writeAll(fd, batch, position + written, batchBytes, (err) => {
        writing = false;
        if (!err) written += batchBytes;
        if (failed) return settleFailure();
        if (err) return fail(err, 'file');
        if (source.isPaused() && !ended) source.resume();
        if (ended || pendingBytes >= BATCH_BYTES) flush();
      });
    };

    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) return fail(new Error(`body exceeds ${maxBytes} bytes`));
      hash.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= BATCH_BYTES) flush();
      if (pendingBytes >= PAUSE_BYTES) source.pause();
    };
    const onEnd = (): void => {
      ended = true;
      flush();
    };

    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', (err) => fail(err));
    source.on('aborted', () => fail(new Error('the client went away mid-upload')));
    source.on('close', () => {
      // An http request that was received whole may close before a paused body is drained.
      const complete = (source as Readable & { complete?: boolean }).complete;
      if (!ended && complete !== true) fail(new Error('the client went away mid-upload'));
    });
  });
}

/** writev that finishes partial writes. */
function writeAll(fd: number, bufs: Buffer[], position: number, total: number, cb: (err: Error | null) => void): void {
  writev(fd, bufs, position, (err, n) => {
    if (err) return cb(err);
    if (n === total) return cb(null);
    // Partial write: drop what was written and continue with the rest.
    let skip = n;
    const rest: Buffer[] = [];
    for (const b of bufs) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    writeAll(fd, rest, position + n, total - n, cb);
  });
}
