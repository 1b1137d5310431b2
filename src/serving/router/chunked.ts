/**
 * A strict reader of HTTP/1.1 chunked framing (RFC 9112 §7.1). It does not copy data: it says
 * how many bytes of the input belong to the message and how many of them are chunk data, so
 * the proxy forwards the validated framing as it came and knows exactly where the body ends.
 * Anything a lenient parser might read differently (bare LF, a size with spaces, `0x`, sizes
 * past 2^32, control bytes in an extension) is an error, never a guess.
 */
import { isTchar, isFieldByte } from './octets.js';

const SIZE_FIRST = 0;
const SIZE = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7;
const TRAILER_LINE = 8;
const TRAILER_LF = 9;
const END_LF = 10;
const DONE = 11;

const MAX_SIZE_DIGITS = 8;
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class ChunkedReader {
  /** Chunk data bytes seen so far (the decoded body size). */
  dataBytes = 0;
  /** Why the framing was refused, once it was. */
  error: string | undefined;
  private state = SIZE_FIRST;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private nameSeen = false;

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Reads buf[start, end). Returns the index just past the last byte that belongs to the body
   * (`end` unless the body ended inside the input), or -1 when the framing is invalid.
   */
  read(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end) {
      const state = this.state;
      if (state === DATA) {
        const n = Math.min(this.size, end - i);
        this.size -= n;
        this.dataBytes += n;
        i += n;
        if (this.size === 0) this.state = DATA_CR;
        continue;
      }
      if (state === DONE) return i;
      const c = buf[i] ?? 0;
      i++;
      switch (state) {
        case SIZE_FIRST:
        case SIZE: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail('a chunk size has too many digits');
            this.size = this.size * 16 + v;
            this.state = SIZE;
          } else if (state === SIZE && c === 59 /* ; */) {
            this.state = EXT;
            this.lineBytes = 0;
          } else if (state === SIZE && c === 13) {
            this.state = SIZE_LF;
          } else {
            return this.fail('a chunk size is not hexadecimal');
          }
          break;
        }
        case EXT:
          // chunk-ext: printable bytes, spaces and tabs only; the CR ends it.
          if (c === 13) this.state = SIZE_LF;
          else if (!isFieldByte(c) || ++this.lineBytes > MAX_LINE_BYTES) return this.fail('a chunk extension is malformed');
          break;
        case SIZE_LF:
          if (c !== 10) return this.fail('a chunk size line does not end with CRLF');
          this.digits = 0;
          this.state = this.size === 0 ? TRAILER_START : DATA;
          break;
        case DATA_CR:
          if (c !== 13) return this.fail('chunk data is longer than its size');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 10) return this.fail('chunk data does not end with CRLF');
          this.state = SIZE_FIRST;
          break;
        case TRAILER_START:
          if (c === 13) {
            this.state = END_LF;
            break;
          }
          if (!isTchar(c)) return this.fail('a trailer field is malformed');
          this.nameSeen = true;
          this.state = TRAILER_LINE;
          break;
        case TRAILER_LINE:
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail('the trailer section is too large');
          if (c === 13) {
            if (this.nameSeen) return this.fail('a trailer field has no colon');
            this.state = TRAILER_LF;
          } else if (this.nameSeen) {
            if (c === 58 /* : */) this.nameSeen = false;
            else if (!isTchar(c)) return this.fail('a trailer field name is malformed');
          } else if (!isFieldByte(c)) {
            return this.fail('a trailer field value has a control character');
          }
          break;
        case TRAILER_LF:
          if (c !== 10) return this.fail('a trailer field does not end with CRLF');
          this.state = TRAILER_START;
          break;
        case END_LF:
          if (c !== 10) return this.fail('the chunked body does not end with CRLF');
          this.state = DONE;
          return i;
      }
    }
    return i;
  }

  private fail(why: string): number {
    this.error = why;
    return -1;
  }
}
