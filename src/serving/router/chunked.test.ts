import { describe, expect, it } from 'vitest';
import { ChunkedReader } from './chunked.js';

/** Feeds `text` in pieces of `step` bytes; returns the reader and where the body ended in `text`. */
function feed(text: string, step = text.length): { r: ChunkedReader; end: number } {
  const buf = Buffer.from(text, 'latin1');
  const r = new ChunkedReader();
  for (let at = 0; at < buf.length; at += step) {
    const piece = buf.subarray(at, Math.min(buf.length, at + step));
    const used = r.read(piece, 0, piece.length);
    if (used < 0) return { r, end: -1 };
    if (r.done) return { r, end: at + used };
  }
  return { r, end: -1 };
}

describe('ChunkedReader', () => {
  const body = '5\r\nhello\r\n1a;name=value;q="x y"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n';

  it('finds the end of a chunked body, counts its data and stops there', () => {
    const { r, end } = feed(`${body}GET /next`);
    expect(r.done).toBe(true);
    expect(end).toBe(body.length);
    expect(r.dataBytes).toBe(5 + 26);
  });

  it('gives the same result fed one byte at a time', () => {
    const { r, end } = feed(`${body}GET /next`, 1);
    expect(r.done).toBe(true);
    expect(end).toBe(body.length);
    expect(r.dataBytes).toBe(31);
  });

  it('accepts upper-case hex and an empty trailer section', () => {
    const { r, end } = feed('A\r\n0123456789\r\n0\r\n\r\n');
    expect(r.done).toBe(true);
    expect(end).toBe(20);
  });

  it('waits for more when the body is not over', () => {
    const r = new ChunkedReader();
    const buf = Buffer.from('5\r\nhel');
    expect(r.read(buf, 0, buf.length)).toBe(buf.length);
    expect(r.done).toBe(false);
    expect(r.dataBytes).toBe(3);
  });

  it.each([
    ['0x5\r\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    [' 5\r\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    ['5 \r\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    ['-5\r\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    ['\r\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    ['5\nhello\r\n0\r\n\r\n', 'not hexadecimal'],
    ['5\r\nhello\n0\r\n\r\n', 'longer than its size'],
    ['5\r\nhello\r0\r\n\r\n', 'does not end with CRLF'],
    ['5\r\nhelloX\r\n0\r\n\r\n', 'longer than its size'],
    ['5;a\x01b\r\nhello\r\n0\r\n\r\n', 'extension'],
    ['5\r\r\nhello\r\n0\r\n\r\n', 'CRLF'],
    ['100000000\r\n', 'too many digits'],
    ['0\r\nX-T: a\nb\r\n\r\n', 'control character'],
    ['0\r\nno colon\r\n\r\n', 'field name'],
    ['0\r\n\r\r\n', 'does not end with CRLF'],
  ])('refuses %j', (text, why) => {
    const { r, end } = feed(text);
    expect(end).toBe(-1);
    expect(r.error).toContain(why);
  });
});
