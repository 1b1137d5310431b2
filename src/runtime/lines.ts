/**
 * Split a byte stream into lines for the log sink. A line longer than `maxBytes` is cut into
 * pieces so a program that never prints a newline cannot grow kumo's memory.
 */
import type { Readable } from 'node:stream';

export function forEachLine(stream: Readable, onLine: (line: string) => void, maxBytes = 256 * 1024): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let text = pending + chunk;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      const line = text.charCodeAt(nl - 1) === 13 ? text.slice(0, nl - 1) : text.slice(0, nl);
      onLine(line);
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    while (text.length > maxBytes) {
      onLine(text.slice(0, maxBytes));
      text = text.slice(maxBytes);
    }
    pending = text;
  });
  stream.on('end', () => {
    if (pending.length > 0) onLine(pending);
    pending = '';
  });
}
