/** Byte classes of HTTP/1.1 (RFC 9110 §5.6.2 tokens, §5.5 field values), as lookup tables. */

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Field value bytes: HTAB, SP, VCHAR and obs-text; no other control byte, no DEL. */
const FIELD = new Uint8Array(256);
FIELD[9] = 1;
for (let c = 32; c <= 126; c++) FIELD[c] = 1;
for (let c = 128; c <= 255; c++) FIELD[c] = 1;

/** Request-target bytes: VCHAR and obs-text (no space, no control byte). */
const TARGET = new Uint8Array(256);
for (let c = 33; c <= 126; c++) TARGET[c] = 1;
for (let c = 128; c <= 255; c++) TARGET[c] = 1;

export function isTchar(c: number): boolean {
  return TCHAR[c] === 1;
}

export function isFieldByte(c: number): boolean {
  return FIELD[c] === 1;
}

export function isTargetByte(c: number): boolean {
  return TARGET[c] === 1;
}

/** True when buf[start, start + name.length) equals `name` (given in lowercase) ignoring ASCII case. */
export function nameEquals(buf: Uint8Array, start: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = buf[start + i] ?? 0;
    // folding with 0x20 is exact here: names are tchars, and `name` has only letters, digits and '-'
    if ((c | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** buf[start, end) with optional whitespace removed at both ends, as latin1 text. */
export function trimmedText(buf: Buffer, start: number, end: number): string {
  while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
  while (end > start && (buf[end - 1] === 32 || buf[end - 1] === 9)) end--;
  return buf.toString('latin1', start, end);
}

/**
 * Bytes that arrive in pieces (a head split across reads): appended into a buffer whose
 * capacity doubles, so a head sent one byte at a time costs linear, not quadratic, copying.
 */
export class Accumulated {
  /** The bytes so far. */
  bytes: Buffer | undefined;
  private store: Buffer | undefined;

  append(chunk: Buffer): Buffer {
    const have = this.bytes;
    if (!have) return (this.bytes = chunk);
    const s = this.reserve(have, have.length + chunk.length);
    chunk.copy(s, have.length);
    return (this.bytes = s.subarray(0, have.length + chunk.length));
  }

  /** Copy the bytes into memory of their own (when they are a view of a buffer that will be reused). */
  own(): void {
    const have = this.bytes;
    if (have) this.bytes = this.reserve(have, have.length).subarray(0, have.length);
  }

  private reserve(have: Buffer, need: number): Buffer {
    let s = this.store;
    if (!s || s.length < need || have.buffer !== s.buffer || have.byteOffset !== s.byteOffset) {
      s = Buffer.allocUnsafe(Math.max(need * 2, 4096));
      have.copy(s, 0);
      this.store = s;
    }
    return s;
  }

  /** Replace the bytes (e.g. with what follows a head); later appends copy them first. */
  set(bytes: Buffer | undefined): void {
    this.bytes = bytes;
    this.store = undefined;
  }
}
