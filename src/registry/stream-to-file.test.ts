import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamWriteError, streamToFile } from './stream-to-file.js';

let dir: string;
let file: string;
let fd: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kumo-stream-'));
  file = join(dir, 'f');
  fd = openSync(file, 'w+');
});
afterEach(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe('streamToFile', () => {
  it('writes every byte in order at the given position and hashes exactly those bytes', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    const source = new PassThrough({ highWaterMark: 64 * 1024 });
    const hash = createHash('sha256');
    const done = streamToFile(source, fd, 0, hash);
    for (let i = 0; i < data.length; i += 65_536) source.write(data.subarray(i, i + 65_536));
    source.end();
    expect(await done).toEqual({ written: data.length });
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));

    const more = Buffer.from('tail');
    const s2 = new PassThrough();
    const h2 = createHash('sha256');
    const p2 = streamToFile(s2, fd, data.length, h2);
    s2.end(more);
    await p2;
    expect(statSync(file).size).toBe(data.length + 4);
  });

  it('on a source error reports how many bytes reached the file, after in-flight writes land', async () => {
    const source = new PassThrough();
    const done = streamToFile(source, fd, 0, createHash('sha256'));
    source.write(randomBytes(3 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 20));
    source.destroy(new Error('client went away'));
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamWriteError);
    expect((err as StreamWriteError).written).toBe(statSync(file).size);
  });

  it('refuses a body over maxBytes', async () => {
    const source = new PassThrough();
    const done = streamToFile(source, fd, 0, createHash('sha256'), 10);
    source.end(Buffer.alloc(11));
    await expect(done).rejects.toThrow(/exceeds 10 bytes/);
  });
});
