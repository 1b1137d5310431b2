import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../observability/log.types.js';
import { lineText, logRows, visibleRange } from './logs.js';

let t = 0;
const e = (kind: LogEntry['kind'], trace: string | undefined, extra: Partial<LogEntry> = {}): LogEntry => ({
  insertId: String(++t),
  timestamp: new Date(t).toISOString(),
  timeMs: t,
  severity: 'INFO',
  kind,
  service: 's',
  ...(trace ? { trace } : {}),
  ...extra,
});

describe('log viewer rows', () => {
  it('puts app lines under the request of the same trace, once', () => {
    const app1 = e('stdout', 'T1', { textPayload: 'handling' });
    const req1 = e('requests', 'T1');
    const other = e('stderr', 'T2', { textPayload: 'no request for me' });
    const plain = e('system', undefined, { textPayload: 'instance started' });
    const app1b = e('stdout', 'T1', { textPayload: 'done' });
    const rows = logRows([app1, req1, other, plain, app1b], true);
    expect(rows.map((r) => [r.entry.insertId, r.depth])).toEqual([
      [req1.insertId, 0],
      [app1.insertId, 1],
      [app1b.insertId, 1],
      [other.insertId, 0],
      [plain.insertId, 0],
    ]);
    expect(logRows([app1, req1], false).map((r) => r.depth)).toEqual([0, 0]);
  });

  it('reads a request, a JSON line and a text line', () => {
    expect(
      lineText(e('requests', 'T', { httpRequest: { requestMethod: 'GET', requestUrl: 'http://a.localhost:8080/x?y=1', status: 200, latency: '0.0123s', responseSize: '12' } })),
    ).toBe('GET /x?y=1 200 12.3 ms 12 B');
    expect(lineText(e('stdout', undefined, { jsonPayload: { message: 'hi', user: 'ann' } }))).toBe('hi  {"user":"ann"}');
    expect(lineText(e('stdout', undefined, { jsonPayload: { n: 1 } }))).toBe('{"n":1}');
    expect(lineText(e('stdout', undefined, { textPayload: 'plain' }))).toBe('plain');
  });

  it('windows 10,000 rows to what the box shows', () => {
    expect(visibleRange(0, 440, 22, 10_000)).toEqual({ first: 0, last: 30 });
    expect(visibleRange(22 * 5000, 440, 22, 10_000)).toEqual({ first: 4990, last: 5030 });
    expect(visibleRange(22 * 9990, 440, 22, 10_000)).toEqual({ first: 9980, last: 10_000 });
  });
});
